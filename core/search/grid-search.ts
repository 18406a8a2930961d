/**
 * Grid search: every combination of a few points per dimension, evenly spaced in each dimension's
 * scale (linear, log10, or −log10(1 − β)).
 */
import { show } from "../validate.ts";
import { ValidationError } from "../validation-error.ts";
import { clamp, scaleOf } from "./scale.ts";
import type { Dimension, Space, Values } from "./space.ts";
import { validateSpace } from "./space.ts";

/** Most points a grid may have (the product over dimensions). */
export const MAX_GRID_POINTS = 100_000;

/** `x` rounded to 12 significant digits, so grid values print as 0.001, not 0.0010000000000000002. */
function tidy(x: number): number {
  return Number(x.toPrecision(12));
}

/**
 * The grid values of one (validated) dimension for `points` ≥ 2: for a numeric dimension with
 * scale f, x_i = f⁻¹(f(min) + i·(f(max) − f(min))/(points − 1)), i = 0 … points − 1, so the ends
 * are min and max exactly and interior values are rounded to 12 significant digits; int values are
 * rounded to integers and deduplicated (so an int dimension may give fewer points); a choice gives
 * all its values, whatever `points`.
 */
export function gridValues(dimension: Dimension, points: number): unknown[] {
  if (dimension.type === "choice") return [...dimension.values];
  const { min, max } = dimension;
  const scale = scaleOf(dimension);
  const out: number[] = [];
  for (let i = 0; i < points; i++) {
    let x: number;
    if (i === 0) x = min;
    else if (i === points - 1) x = max;
    else x = clamp(tidy(scale.from(scale.low + (i * (scale.high - scale.low)) / (points - 1))), min, max);
    if (dimension.type === "int") x = Math.round(x);
    if (out.length === 0 || out[out.length - 1] !== x) out.push(x);
  }
  return out;
}

/**
 * All points of the grid over `space` with `pointsPerDimension` values per numeric dimension (see
 * {@link gridValues}): the Cartesian product in the space's key order, the first dimension varying
 * slowest. The number of points is the product of the per-dimension counts, at most
 * {@link MAX_GRID_POINTS}. The space is validated first.
 */
export function gridSearch(space: Space, pointsPerDimension: number): Values[] {
  const what = "Cannot run a grid search";
  validateSpace(space);
  if (typeof pointsPerDimension !== "number" || !Number.isInteger(pointsPerDimension) || pointsPerDimension < 2 || pointsPerDimension > MAX_GRID_POINTS) {
    throw new ValidationError(
      "pointsPerDimension",
      `${what}: 'pointsPerDimension' must be an integer in [2, ${MAX_GRID_POINTS}], current value is ${show(pointsPerDimension)}`,
    );
  }
  const paths = Object.keys(space);
  const axes = paths.map((path) => gridValues(space[path], pointsPerDimension));
  const total = axes.reduce((n, axis) => n * axis.length, 1);
  if (total > MAX_GRID_POINTS) {
    throw new ValidationError(
      "space",
      `${what}: the grid has ${total} points (${axes.map((a) => a.length).join(" × ")}), more than ${MAX_GRID_POINTS}`,
    );
  }
  const out: Values[] = [];
  const index = new Array<number>(paths.length).fill(0);
  for (let n = 0; n < total; n++) {
    const values: Values = {};
    paths.forEach((path, d) => {
      values[path] = axes[d][index[d]];
    });
    out.push(values);
    for (let d = paths.length - 1; d >= 0; d--) {
      if (++index[d] < axes[d].length) break;
      index[d] = 0;
    }
  }
  return out;
}
