/**
 * The limits a worker enforces: DEFAULT_WORKER_LIMITS (core/limits.ts) with overrides, each checked
 * up front so that a typo in a deployment fails at start, not at the first request.
 */
import { DEFAULT_WORKER_LIMITS, type WorkerLimits } from "../core/limits.ts";

export function resolveLimits(overrides: Partial<WorkerLimits> = {}): WorkerLimits {
  const limits: Record<string, number> = { ...DEFAULT_WORKER_LIMITS };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    if (!(key in DEFAULT_WORKER_LIMITS)) {
      throw new TypeError(`Cannot configure worker: 'limits.${key}' is not a known limit (expected one of ${Object.keys(DEFAULT_WORKER_LIMITS).join(", ")})`);
    }
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`Cannot configure worker: 'limits.${key}' must be a positive integer, current value is ${String(value)}`);
    }
    limits[key] = value;
  }
  return limits as unknown as WorkerLimits;
}
