/**
 * Ensembles: average the outputs (probabilities, or regression values) of several models, whether
 * independently trained members or snapshots of one run, and derive the members' seeds.
 */
import { Domain, Rng } from "./random.ts";
import { show } from "./validate.ts";

/** Stream of the search domain reserved for ensemble seeds ("ENSM"). */
const ENSEMBLE_STREAM = 0x454e534d;
const TWO_POW_32 = 4294967296;

/** Running float64 sum of same-length Float32Arrays, in the order they are added. */
class Accumulator {
  readonly #sum: Float64Array;
  #count = 0;
  readonly #what: string;

  constructor(length: number, what: string) {
    this.#sum = new Float64Array(length);
    this.#what = what;
  }

  add(output: unknown, label: string): void {
    if (!(output instanceof Float32Array)) {
      throw new TypeError(`Cannot ${this.#what}: '${label}' must be a Float32Array, current value is ${show(output)}`);
    }
    if (output.length !== this.#sum.length) {
      throw new RangeError(
        `Cannot ${this.#what}: '${label}.length' must be ${this.#sum.length} (the first output's length), current value is ${output.length}`,
      );
    }
    const sum = this.#sum;
    for (let i = 0; i < sum.length; i++) sum[i] += output[i];
    this.#count++;
  }

  mean(): Float32Array {
    const out = new Float32Array(this.#sum.length);
    for (let i = 0; i < out.length; i++) out[i] = this.#sum[i] / this.#count;
    return out;
  }
}

/**
 * Element-wise mean of the members' outputs: ȳ_i = (1/M) Σ_{j=0}^{M−1} y_{j,i}, summed in member
 * order in float64 and rounded once to float32, so the result depends only on the outputs and
 * their order. All outputs must have the same length (same shape [m, k]). For probabilities the
 * mean of distributions is a distribution; take classes from it with `predictClasses`. Returns a
 * new array.
 */
export function averageOutputs(outputs: readonly Float32Array[]): Float32Array {
  const what = "average outputs";
  if (!Array.isArray(outputs) || outputs.length === 0) {
    throw new RangeError(`Cannot ${what}: 'outputs' must be a non-empty array, current value is ${show(outputs)}`);
  }
  if (!(outputs[0] instanceof Float32Array)) {
    throw new TypeError(`Cannot ${what}: 'outputs[0]' must be a Float32Array, current value is ${show(outputs[0])}`);
  }
  const acc = new Accumulator(outputs[0].length, what);
  outputs.forEach((output, j) => acc.add(output, `outputs[${j}]`));
  return acc.mean();
}

/**
 * A snapshot ensemble: runs `predict(snapshot, index)` for each parameter snapshot (e.g. the
 * checkpoints of the last epochs) one after the other, and returns the mean of the outputs,
 * bit-identical to `averageOutputs` of the same outputs. Only the running float64 sum is kept, so
 * memory does not grow with the number of snapshots. `predict` may be synchronous or return a
 * promise; the caller owns (and disposes) what it returns, and the mean is a new array.
 */
export async function snapshotEnsemble<P>(
  snapshots: readonly P[],
  predict: (snapshot: P, index: number) => Float32Array | Promise<Float32Array>,
): Promise<Float32Array> {
  const what = "build a snapshot ensemble";
  if (!Array.isArray(snapshots) || snapshots.length === 0) {
    throw new RangeError(`Cannot ${what}: 'snapshots' must be a non-empty array, current value is ${show(snapshots)}`);
  }
  if (typeof predict !== "function") {
    throw new TypeError(`Cannot ${what}: 'predict' must be a function, current value is ${show(predict)}`);
  }
  let acc: Accumulator | null = null;
  for (let j = 0; j < snapshots.length; j++) {
    const output = await predict(snapshots[j], j);
    if (acc === null) {
      if (!(output instanceof Float32Array)) {
        throw new TypeError(`Cannot ${what}: 'predict(snapshots[0])' must return a Float32Array, current value is ${show(output)}`);
      }
      acc = new Accumulator(output.length, what);
    }
    acc.add(output, `predict(snapshots[${j}])`);
  }
  return (acc as Accumulator).mean();
}

/**
 * Seeds of `members` ensemble members derived from `baseSeed`: member 0 gets `baseSeed` itself (so
 * a one-member ensemble is the plain job), the others 53-bit integers drawn from the Philox stream
 * (baseSeed, Domain.search, "ENSM"), redrawn in the (astronomically rare) case of a repeat. The
 * seeds are distinct, deterministic, and a prefix of the list for a larger `members`.
 */
export function ensembleSeeds(baseSeed: number, members: number): number[] {
  const what = "derive ensemble seeds";
  if (typeof baseSeed !== "number" || !Number.isSafeInteger(baseSeed) || baseSeed < 0) {
    throw new RangeError(`Cannot ${what}: 'baseSeed' must be an integer in [0, 2^53), current value is ${show(baseSeed)}`);
  }
  if (typeof members !== "number" || !Number.isInteger(members) || members < 1 || members > 1_000_000) {
    throw new RangeError(`Cannot ${what}: 'members' must be an integer in [1, 1000000], current value is ${show(members)}`);
  }
  const rng = new Rng(baseSeed, Domain.search, ENSEMBLE_STREAM);
  const seeds = [baseSeed];
  const seen = new Set(seeds);
  while (seeds.length < members) {
    const high = rng.nextUint32() & 0x1fffff; // 21 bits: 21 + 32 = 53
    const seed = high * TWO_POW_32 + rng.nextUint32();
    if (seen.has(seed)) continue;
    seen.add(seed);
    seeds.push(seed);
  }
  return seeds;
}
