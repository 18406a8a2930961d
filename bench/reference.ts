/**
 * What the benchmarks share: the reference MLP of the speed targets (784-256-128-10 with batch
 * norm and dropout 0.8, softmax; He init, Xavier for the output layer), a seeded batch for it, and
 * the median the tables report.
 */
import type { Batch } from "../core/model/engine.ts";
import { Domain, Rng } from "../core/random.ts";

export const REFERENCE_MLP = {
  input: [784],
  layers: [
    { type: "dense", units: 256, init: "he" }, { type: "batchnorm" }, { type: "relu" }, { type: "dropout", keepProb: 0.8 },
    { type: "dense", units: 128, init: "he" }, { type: "batchnorm" }, { type: "relu" }, { type: "dropout", keepProb: 0.8 },
    { type: "dense", units: 10, init: "xavier" },
  ],
  output: "softmax",
};

/** `m` examples of standard-normal inputs and random labels, with global indices from `firstIndex`. */
export function referenceBatch(m: number, seed: number, firstIndex = 0): Batch {
  const rng = new Rng(seed, Domain.test);
  return {
    inputs: Float32Array.from({ length: m * 784 }, () => rng.normal()),
    labels: Int32Array.from({ length: m }, () => rng.int(10)),
    indices: Int32Array.from({ length: m }, (_, i) => firstIndex + i),
  };
}

/** The median (the mean of the two middle values for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}
