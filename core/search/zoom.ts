/**
 * Coarse to fine: after a round of trials, narrow the space around the best ones and sample again.
 */
import { isRecord, show } from "../validate.ts";
import { scaleOf } from "./scale.ts";
import type { ChoiceDimension, Dimension, NumericDimension, Space, Values } from "./space.ts";
import { validateSpace } from "./space.ts";

export interface ZoomOptions {
  /**
   * Margin added on each side of the best trials' span, as a fraction of the dimension's full
   * width in its own scale; in (0, 1], default 0.1. A single best trial gives a range 2·factor wide.
   */
  readonly factor?: number;
}

/** Structural equality of JSON-like values (numbers by Object.is-like equality, 0 === -0). */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === "number" && typeof b === "number") return Number.isNaN(a) && Number.isNaN(b);
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => sameValue(x, b[i]));
  }
  if (isRecord(a) && isRecord(b)) {
    const ka = Object.keys(a), kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && sameValue(a[k], b[k]));
  }
  return false;
}

function zoomChoice(dimension: ChoiceDimension, seen: readonly unknown[], path: string, what: string): ChoiceDimension {
  seen.forEach((value, i) => {
    if (!dimension.values.some((v) => sameValue(v, value))) {
      throw new RangeError(
        `${what}: 'bestTrials[${i}]["${path}"]' must be one of the values of '${path}', current value is ${show(value)}`,
      );
    }
  });
  return { type: "choice", values: dimension.values.filter((v) => seen.some((s) => sameValue(v, s))) };
}

function zoomNumeric(
  dimension: NumericDimension,
  seen: readonly unknown[],
  factor: number,
  path: string,
  what: string,
): NumericDimension {
  const { min, max } = dimension;
  const xs = seen.map((value, i) => {
    const field = `bestTrials[${i}]["${path}"]`;
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw new TypeError(`${what}: '${field}' must be a finite number, current value is ${show(value)}`);
    }
    if (value < min || value > max || (dimension.type === "int" && !Number.isInteger(value))) {
      const kind = dimension.type === "int" ? "an integer" : "a number";
      throw new RangeError(`${what}: '${field}' must be ${kind} in [${min}, ${max}], current value is ${value}`);
    }
    return value;
  });
  const lowest = Math.min(...xs), highest = Math.max(...xs);
  const scale = scaleOf(dimension);
  const margin = factor * (scale.high - scale.low);
  const a = scale.to(lowest) - margin, b = scale.to(highest) + margin;
  let newMin: number, newMax: number;
  if (dimension.type === "int") {
    newMin = a <= scale.low ? min : Math.max(min, Math.floor(scale.from(a)));
    newMax = b >= scale.high ? max : Math.min(max, Math.ceil(scale.from(b)));
    newMin = Math.min(newMin, lowest);
    newMax = Math.max(newMax, highest);
    return dimension.log === undefined
      ? { type: "int", min: newMin, max: newMax }
      : { type: "int", min: newMin, max: newMax, log: dimension.log };
  }
  // Clipped ends keep the original bounds exactly (10^log10(x) need not give x back).
  newMin = a <= scale.low ? min : Math.min(scale.from(a), lowest);
  newMax = b >= scale.high ? max : Math.max(scale.from(b), highest);
  if (!(newMin < newMax)) [newMin, newMax] = [min, max];
  return { type: dimension.type, min: newMin, max: newMax };
}

/**
 * A narrowed space around the best trials (coarse-to-fine search). For a numeric dimension with
 * scale f (linear, log10 for logUniform and int with log, −log10(1 − x) for oneMinusLog), the new
 * range in scale units is [f(lowest) − m, f(highest) + m] ∩ [f(min), f(max)], where lowest and
 * highest are the extreme values among the best trials and m = factor·(f(max) − f(min)); int
 * bounds are rounded outward. A clipped end keeps the original bound exactly; the best trials'
 * values always stay inside. A choice dimension keeps the values seen among the best trials, in
 * their original order. Each trial must hold a valid value for every path of the space.
 */
export function zoom(space: Space, bestTrials: readonly Values[], options: ZoomOptions = {}): Space {
  const what = "Cannot zoom the space";
  validateSpace(space);
  if (!Array.isArray(bestTrials) || bestTrials.length === 0) {
    throw new RangeError(`${what}: 'bestTrials' must be a non-empty array, current value is ${show(bestTrials)}`);
  }
  const factor = options.factor ?? 0.1;
  if (typeof factor !== "number" || !Number.isFinite(factor) || factor <= 0 || factor > 1) {
    throw new RangeError(`${what}: 'factor' must be in (0, 1], current value is ${show(factor)}`);
  }
  bestTrials.forEach((trial, i) => {
    if (!isRecord(trial)) {
      throw new TypeError(`${what}: 'bestTrials[${i}]' must be an object of values, current value is ${show(trial)}`);
    }
  });
  const out: Record<string, Dimension> = {};
  for (const path of Object.keys(space)) {
    const seen = bestTrials.map((trial, i) => {
      if (!Object.hasOwn(trial, path)) {
        throw new TypeError(`${what}: 'bestTrials[${i}]' has no value for '${path}'`);
      }
      return trial[path];
    });
    const dimension = space[path];
    out[path] = dimension.type === "choice"
      ? zoomChoice(dimension, seen, path, what)
      : zoomNumeric(dimension, seen, factor, path, what);
  }
  return out;
}
