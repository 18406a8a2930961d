/** The rows of one mini-batch gathered from the prepared training split, and their wire form. */
import { augmentBatch, isIdentityTable, normalizeFeatures } from "../../core/data/mod.ts";
import type { JobSpec } from "../../core/job/spec.ts";
import type { Batch } from "../../core/model/engine.ts";
import { type Float32Tensor, type Uint8Tensor, wireFloat32 } from "../../core/wire/tensor.ts";
import type { InputDecoding } from "../../core/work.ts";
import type { PreparedData } from "./prepared-data.ts";

export interface TrainingBatch extends Batch {
  /** The rows as codes of `data.inputCodes`, augmented like `inputs`; null when the data has no codes. */
  readonly codes: Uint8Array | null;
}

/**
 * The rows of a batch: without augmentation straight from the normalized training split; with it,
 * the raw rows augmented per (seed, epoch, example) and then normalized. With input codes, the
 * codes of the same rows too: flips and shifts only move values (shifts bring in code 0, +0), so
 * augmenting the codes gives the codes of the augmented raw rows.
 */
export function gatherBatch(data: PreparedData, rows: Int32Array, spec: JobSpec, epoch: number, seed: number): TrainingBatch {
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
  let codes: Uint8Array | null = null;
  if (data.inputCodes) {
    codes = new Uint8Array(rows.length * n);
    for (let i = 0; i < rows.length; i++) codes.set(data.inputCodes.codes.subarray(rows[i] * n, rows[i] * n + n), i * n);
    if (augmenting) codes = Uint8Array.from(augmentBatch(Float32Array.from(codes), source.inputShape!, aug, { seed, epoch, indices: rows }));
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
  return { inputs, labels: out, indices: rows, codes };
}

/**
 * Rows [a, b) of a batch as a request carries them: its codes when it has them and `compact`
 * (every worker takes codes: PoolCapacity.inputCodes), else float32.
 */
export function wireRows(batch: Batch & { readonly codes?: Uint8Array | null }, a: number, b: number, n: number, compact: boolean): Float32Tensor | Uint8Tensor {
  return batch.codes && compact
    ? { shape: [b - a, n], dtype: "uint8", data: batch.codes.subarray(a * n, b * n) }
    : wireFloat32(batch.inputs.subarray(a * n, b * n), [b - a, n]);
}

/**
 * The context fields that tell workers how the codes decode: the table (left out when a code
 * is its own value) and the job's normalization. Empty without codes.
 */
export function inputDecoding(data: PreparedData): InputDecoding {
  const codes = data.inputCodes;
  if (!codes) return {};
  const stats = data.normalization;
  const n = data.trainRaw.shape[1];
  return {
    ...(isIdentityTable(codes.values) ? {} : { inputValues: wireFloat32(codes.values, [codes.values.length]) }),
    ...(stats === null ? {} : {
      inputNormalization: stats.kind === "standardize"
        ? { kind: "standardize", mean: wireFloat32(stats.mean, [n]), std: wireFloat32(stats.std, [n]) }
        : { kind: "minmax", min: wireFloat32(stats.min, [n]), range: wireFloat32(stats.range, [n]) },
    }),
  };
}
