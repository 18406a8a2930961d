/** The rows of one mini-batch gathered from the prepared training split. */
import { augmentBatch, normalizeFeatures } from "../../core/data/mod.ts";
import type { JobSpec } from "../../core/job/spec.ts";
import type { Batch } from "../../core/model/engine.ts";
import type { PreparedData } from "./prepared-data.ts";

/**
 * The rows of a batch: without augmentation straight from the normalized training split; with it,
 * the raw rows augmented per (seed, epoch, example) and then normalized.
 */
export function gatherBatch(data: PreparedData, rows: Int32Array, spec: JobSpec, epoch: number, seed: number): Batch {
  const aug = spec.dataset.augment;
  const augmenting = aug !== null && (aug.flipHorizontal || aug.shift > 0 || aug.noise > 0);
  const source = augmenting ? data.trainRaw : data.train;
  const n = source.shape[1];
  let inputs: Float32Array = new Float32Array(rows.length * n);
  for (let i = 0; i < rows.length; i++) inputs.set(source.features.subarray(rows[i] * n, rows[i] * n + n), i * n);
  if (augmenting) {
    inputs = augmentBatch(inputs, source.inputShape!, aug, { seed, epoch, indices: rows });
    if (data.normalization) normalizeFeatures(inputs, data.normalization, inputs);
  }
  const labels = data.train.labels;
  let out: Int32Array | Float32Array;
  if (labels.kind === "classes") {
    out = new Int32Array(rows.length);
    for (let i = 0; i < rows.length; i++) out[i] = labels.values[rows[i]];
  } else {
    const w = labels.width;
    out = new Float32Array(rows.length * w);
    for (let i = 0; i < rows.length; i++) out.set(labels.values.subarray(rows[i] * w, rows[i] * w + w), i * w);
  }
  return { inputs, labels: out, indices: rows };
}
