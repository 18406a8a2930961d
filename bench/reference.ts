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

/**
 * Collects this process's young garbage before a sample (with --expose-gc; otherwise nothing), so
 * that no sample pays for the allocations of the one before. Deliberately not a full collection:
 * after a forced full GC the next tens of milliseconds of JS run markedly slower (measured on the
 * reference VM: the in-process gradient step 34 → 46 ms, a 1 KB HTTP exchange 0.5 → 1.8 ms), which
 * inflated in-process baselines and made the remote round trip look 1.1–1.4× when it is 1.4×.
 */
export function collectYoungGarbage(): void {
  (globalThis as { gc?: (options?: { type: "minor" }) => void }).gc?.({ type: "minor" });
}

/** Whether samples are isolated by {@link collectYoungGarbage} (the process runs with --expose-gc). */
export const samplesIsolated = typeof (globalThis as { gc?: unknown }).gc === "function";
