/**
 * Random search: independent samples of a space from the counter-based RNG, the course's
 * recommendation over a grid (every trial tries a new value of every hyperparameter).
 */
import { Domain, Rng } from "../random.ts";
import { show } from "../validate.ts";
import { clamp, scaleOf } from "./scale.ts";
import type { Dimension, Space, Values } from "./space.ts";
import { validateSpace } from "./space.ts";

const TWO_POW_32 = 4294967296;

/** Rounds are streams [0, 2^16) of Domain.search; streams above are left to other uses (ensemble seeds). */
const MAX_ROUNDS = 65536;

/** Most trials one call may draw. */
export const MAX_RANDOM_TRIALS = 1_000_000;

export interface RandomSearchOptions {
  /**
   * Stream of the draws, e.g. the round of a coarse-to-fine search, so that rounds with the same
   * seed draw different numbers. An integer in [0, 65536); default 0.
   */
  readonly round?: number;
}

/**
 * One sample of a (validated) dimension, using `rng`:
 * uniform, logUniform, oneMinusLog: x = f⁻¹(f(min) + u·(f(max) − f(min))) with u uniform in [0, 1)
 * and f the dimension's scale (identity, log10 x, −log10(1 − x)), clamped to [min, max];
 * int: min + a uniform integer in [0, max − min]; int with log: round(10^r), r uniform in
 * [log10(min − ½), log10(max + ½)], clamped (each integer k gets the log-width of [k − ½, k + ½]);
 * choice: values[uniform index in [0, n)].
 */
export function sampleDimension(dimension: Dimension, rng: Rng): unknown {
  if (dimension.type === "choice") return dimension.values[rng.int(dimension.values.length)];
  const { min, max } = dimension;
  if (dimension.type === "int") {
    if (dimension.log === true) {
      const lo = Math.log10(min - 0.5), hi = Math.log10(max + 0.5);
      return clamp(Math.round(10 ** (lo + rng.uniform() * (hi - lo))), min, max);
    }
    const n = max - min + 1;
    return n <= TWO_POW_32 ? min + rng.int(n) : clamp(min + Math.floor(rng.uniform() * n), min, max);
  }
  const scale = scaleOf(dimension);
  return clamp(scale.from(scale.low + rng.uniform() * (scale.high - scale.low)), min, max);
}

/**
 * `trials` random points of `space`, each a record path → value (in the space's key order).
 * Trial i draws from its own Philox stream (seed, Domain.search, round, i), one dimension after
 * the other in sorted path order, so the points depend only on (space contents, seed, round, i):
 * not on the key order of the space nor on the number of trials (a longer search extends a shorter
 * one). The space is validated first (see `validateSpace`).
 */
export function randomSearch(space: Space, trials: number, seed: number, options: RandomSearchOptions = {}): Values[] {
  const what = "Cannot run a random search";
  validateSpace(space);
  if (typeof trials !== "number" || !Number.isInteger(trials) || trials < 1 || trials > MAX_RANDOM_TRIALS) {
    throw new RangeError(`${what}: 'trials' must be an integer in [1, ${MAX_RANDOM_TRIALS}], current value is ${show(trials)}`);
  }
  if (typeof seed !== "number" || !Number.isSafeInteger(seed) || seed < 0) {
    throw new RangeError(`${what}: 'seed' must be an integer in [0, 2^53), current value is ${show(seed)}`);
  }
  const round = options.round ?? 0;
  if (typeof round !== "number" || !Number.isInteger(round) || round < 0 || round >= MAX_ROUNDS) {
    throw new RangeError(`${what}: 'round' must be an integer in [0, ${MAX_ROUNDS}), current value is ${show(round)}`);
  }
  const paths = Object.keys(space);
  const drawOrder = [...paths].sort();
  const out: Values[] = [];
  for (let i = 0; i < trials; i++) {
    const rng = new Rng(seed, Domain.search, round, i);
    const drawn = new Map<string, unknown>();
    for (const path of drawOrder) drawn.set(path, sampleDimension(space[path], rng));
    const values: Values = {};
    for (const path of paths) values[path] = drawn.get(path);
    out.push(values);
  }
  return out;
}
