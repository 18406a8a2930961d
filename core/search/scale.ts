/**
 * The scale of a numeric dimension: the monotone increasing map t = f(x) in which it is sampled
 * uniformly, spaced evenly on a grid, and widened when zooming.
 *
 * - uniform, int: t = x
 * - logUniform, int with log: t = log10 x
 * - oneMinusLog: t = −log10(1 − x), so 0.9 → 1, 0.99 → 2, 0.999 → 3
 */
import type { NumericDimension } from "./space.ts";

export interface Scale {
  /** x → t. */
  readonly to: (x: number) => number;
  /** t → x. */
  readonly from: (t: number) => number;
  /** f(min). */
  readonly low: number;
  /** f(max). */
  readonly high: number;
}

const identity = (x: number): number => x;
const log10 = (x: number): number => Math.log10(x);
const pow10 = (t: number): number => 10 ** t;
const oneMinusTo = (x: number): number => -Math.log10(1 - x);
const oneMinusFrom = (t: number): number => 1 - 10 ** -t;

/** The scale of a (validated) numeric dimension; see the file comment for the maps. */
export function scaleOf(dimension: NumericDimension): Scale {
  let to: (x: number) => number, from: (t: number) => number;
  switch (dimension.type) {
    case "uniform":
      [to, from] = [identity, identity];
      break;
    case "logUniform":
      [to, from] = [log10, pow10];
      break;
    case "oneMinusLog":
      [to, from] = [oneMinusTo, oneMinusFrom];
      break;
    case "int":
      [to, from] = dimension.log === true ? [log10, pow10] : [identity, identity];
      break;
  }
  return { to, from, low: to(dimension.min), high: to(dimension.max) };
}

/** `x` clamped to [min, max]. */
export function clamp(x: number, min: number, max: number): number {
  return x < min ? min : x > max ? max : x;
}
