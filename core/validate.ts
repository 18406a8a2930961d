/**
 * Small helpers for validating plain JSON-like values: each throws a ValidationError whose `field`
 * is the path it was given and whose message names it and quotes the value.
 */
import { ValidationError } from "./validation-error.ts";

/** Quotes a value for an error message. */
export function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean" || value === null || value === undefined) {
    return String(value);
  }
  try {
    const s = JSON.stringify(value);
    return s.length > 60 ? `${s.slice(0, 57)}...` : s;
  } catch {
    return Object.prototype.toString.call(value);
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Asserts a plain object and that it has no key outside `allowed`. */
export function expectRecord(
  value: unknown,
  path: string,
  allowed: readonly string[],
  what: string,
): Record<string, unknown> {
  if (!isRecord(value)) {
    throw new ValidationError(path, `Cannot ${what}: '${path}' must be an object, current value is ${show(value)}`);
  }
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw new ValidationError(
        `${path}.${key}`,
        `Cannot ${what}: '${path}.${key}' is not a known field (expected one of ${allowed.join(", ")})`,
      );
    }
  }
  return value;
}

/** A finite number in [min, max] (bounds inclusive unless `exclusive` says otherwise). */
export function expectNumber(
  value: unknown,
  path: string,
  what: string,
  range: { min?: number; max?: number; minExclusive?: boolean; maxExclusive?: boolean; integer?: boolean } = {},
): number {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new ValidationError(path, `Cannot ${what}: '${path}' must be a finite number, current value is ${show(value)}`);
  }
  if (range.integer && !Number.isInteger(value)) {
    throw new ValidationError(path, `Cannot ${what}: '${path}' must be an integer, current value is ${value}`);
  }
  const { min, max } = range;
  const low = min !== undefined && (range.minExclusive ? value <= min : value < min);
  const high = max !== undefined && (range.maxExclusive ? value >= max : value > max);
  if (low || high) {
    const lo = min === undefined ? "(-inf" : `${range.minExclusive ? "(" : "["}${min}`;
    const hi = max === undefined ? "inf)" : `${max}${range.maxExclusive ? ")" : "]"}`;
    throw new ValidationError(path, `Cannot ${what}: '${path}' must be in ${lo}, ${hi}, current value is ${value}`);
  }
  return value;
}

/** One of the listed strings. */
export function expectEnum<T extends string>(value: unknown, path: string, what: string, options: readonly T[]): T {
  if (typeof value !== "string" || !(options as readonly string[]).includes(value)) {
    throw new ValidationError(
      path,
      `Cannot ${what}: '${path}' must be one of ${options.map((o) => JSON.stringify(o)).join(", ")}, current value is ${show(value)}`,
    );
  }
  return value as T;
}

/**
 * Index of the first NaN or ±Infinity in `data`, or −1. The fast path sums x·0, which is ±0 for a
 * finite x and NaN otherwise, so a finite array costs one multiply-add per element. Eight
 * independent sums, because one sum is a chain of dependent additions bound by their latency
 * (measured in bench/RESULTS.md, "Code comments' measurements").
 */
export function firstNonFinite(data: Float32Array | Float64Array): number {
  let p0 = 0, p1 = 0, p2 = 0, p3 = 0, p4 = 0, p5 = 0, p6 = 0, p7 = 0;
  const n = data.length;
  const whole = n - (n & 7);
  for (let i = 0; i < whole; i += 8) {
    p0 += data[i] * 0;
    p1 += data[i + 1] * 0;
    p2 += data[i + 2] * 0;
    p3 += data[i + 3] * 0;
    p4 += data[i + 4] * 0;
    p5 += data[i + 5] * 0;
    p6 += data[i + 6] * 0;
    p7 += data[i + 7] * 0;
  }
  for (let i = whole; i < n; i++) p0 += data[i] * 0;
  if (p0 + p1 + p2 + p3 + p4 + p5 + p6 + p7 === 0) return -1;
  for (let i = 0; i < n; i++) if (!Number.isFinite(data[i])) return i;
  return -1;
}
