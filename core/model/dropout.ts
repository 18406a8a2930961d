/**
 * Inverted dropout with counter-based masks. Whether unit u of layer l is kept for example e at
 * step t is a pure function of (seed, t, e, l, u): the Philox block at counter
 * (⌊u/4⌋, e, t, l) under the dropout key of `seed`, word u mod 4, compared with keepProb·2³².
 * So an example gets the same mask whichever worker computes it and however the batch is split.
 * Kept units are scaled by 1/keepProb so that the expected activation is unchanged.
 */
import { Domain, keyOf, philox4x32 } from "../random.ts";

export interface DropoutKey {
  readonly seed: number;
  readonly step: number;
  /** Index of the dropout layer in `model.layers`. */
  readonly layer: number;
}

const TWO_POW_32 = 4294967296;

/**
 * Fills `out` (row-major [indices.length, units]) with the inverted-dropout multipliers of the
 * examples `indices`: 1/keepProb for kept units, 0 for dropped ones. Returns `out`.
 */
export function fillDropoutMask(
  out: Float32Array | Float64Array,
  key: DropoutKey,
  indices: ArrayLike<number>,
  units: number,
  keepProb: number,
): Float32Array | Float64Array {
  const k = keyOf(key.seed, Domain.dropout);
  const threshold = keepProb * TWO_POW_32;
  const scale = 1 / keepProb;
  const counter = new Uint32Array(4);
  const block = new Uint32Array(4);
  counter[2] = key.step >>> 0;
  counter[3] = key.layer >>> 0;
  for (let r = 0; r < indices.length; r++) {
    counter[1] = indices[r] >>> 0;
    const row = r * units;
    for (let u = 0; u < units; u += 4) {
      counter[0] = u >>> 2;
      philox4x32(counter, k, block);
      const n = Math.min(4, units - u);
      for (let j = 0; j < n; j++) out[row + u + j] = block[j] < threshold ? scale : 0;
    }
  }
  return out;
}
