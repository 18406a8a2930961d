/**
 * Input normalization. The statistics are fitted on the training split only and then applied,
 * unchanged, to every split and to prediction inputs; they are plain objects of Float32Arrays, stored
 * in the model artifact.
 */
import type { Dataset } from "./dataset.ts";

export type NormalizationKind = "standardize" | "minmax";

/** x' = (x − mean) / std, per feature. */
export interface Standardization {
  readonly kind: "standardize";
  readonly mean: Float32Array;
  /** Population standard deviation; 1 where it is 0 (a constant feature becomes 0). */
  readonly std: Float32Array;
}

/** x' = (x − min) / (max − min), per feature. */
export interface MinMaxScaling {
  readonly kind: "minmax";
  readonly min: Float32Array;
  /** max − min; 1 where it is 0 (a constant feature becomes 0). */
  readonly range: Float32Array;
}

export type Normalization = Standardization | MinMaxScaling;

/**
 * Fits normalization statistics on the features of `train` (the training split only: dev and test
 * must not influence them), in float64, per feature j over the m examples:
 * standardize: μ_j = (1/m) Σ_i x_ij, σ_j = √((1/m) Σ_i (x_ij − μ_j)²) (two passes, population std);
 * minmax: min_j, range_j = max_j − min_j. A σ or range of 0 (or one that rounds to 0 in float32) is
 * stored as 1. Throws a RangeError for an empty training set or a non-finite feature.
 */
export function fitNormalization(train: Dataset, kind: NormalizationKind): Normalization {
  if (kind !== "standardize" && kind !== "minmax") {
    throw new RangeError(
      `Cannot fit normalization: 'kind' must be "standardize" or "minmax", current value is ${JSON.stringify(kind)}`,
    );
  }
  const [m, n] = train.shape;
  if (m === 0) throw new RangeError("Cannot fit normalization: the training set has no examples");
  const x = train.features;
  if (kind === "standardize") {
    const sum = new Float64Array(n);
    for (let i = 0; i < m; i++) {
      const row = i * n;
      for (let j = 0; j < n; j++) sum[j] += x[row + j];
    }
    const mean64 = sum.map((s) => s / m);
    for (let j = 0; j < n; j++) {
      if (!Number.isFinite(mean64[j])) {
        throw new RangeError(`Cannot fit normalization: feature ${j} has a non-finite value (mean ${mean64[j]})`);
      }
    }
    const squares = new Float64Array(n);
    for (let i = 0; i < m; i++) {
      const row = i * n;
      for (let j = 0; j < n; j++) {
        const d = x[row + j] - mean64[j];
        squares[j] += d * d;
      }
    }
    const std = new Float32Array(n);
    for (let j = 0; j < n; j++) {
      const s = Math.fround(Math.sqrt(squares[j] / m));
      std[j] = s > 0 && Number.isFinite(s) ? s : 1;
    }
    return { kind, mean: Float32Array.from(mean64), std };
  }
  const min = new Float64Array(n).fill(Infinity);
  const max = new Float64Array(n).fill(-Infinity);
  for (let i = 0; i < m; i++) {
    const row = i * n;
    for (let j = 0; j < n; j++) {
      const v = x[row + j];
      if (v < min[j]) min[j] = v;
      if (v > max[j]) max[j] = v;
    }
  }
  const range = new Float32Array(n);
  for (let j = 0; j < n; j++) {
    if (!Number.isFinite(min[j]) || !Number.isFinite(max[j])) {
      throw new RangeError(`Cannot fit normalization: feature ${j} has a non-finite value (min ${min[j]}, max ${max[j]})`);
    }
    const r = Math.fround(max[j] - min[j]);
    range[j] = r > 0 && Number.isFinite(r) ? r : 1;
  }
  return { kind, min: Float32Array.from(min), range };
}

/** Number of features `stats` was fitted on. */
export function normalizationWidth(stats: Normalization): number {
  return stats.kind === "standardize" ? stats.mean.length : stats.min.length;
}

/**
 * Normalizes row-major features (any number of rows of the width `stats` was fitted on) into `out`
 * (a new array when omitted; may be `features` itself): x' = (x − shift_j) / scale_j, with
 * (shift, scale) = (mean, std) or (min, range), computed in float64 from the stored float32
 * statistics, so training and prediction see the same numbers. Throws a TypeError on a length
 * mismatch.
 */
export function normalizeFeatures(
  features: Float32Array,
  stats: Normalization,
  out: Float32Array = new Float32Array(features.length),
): Float32Array {
  const n = normalizationWidth(stats);
  if (n === 0 || features.length % n !== 0) {
    throw new TypeError(
      `Cannot normalize: the features' length must be a multiple of ${n} (the fitted width), current value is ${features.length}`,
    );
  }
  if (out.length !== features.length) {
    throw new TypeError(`Cannot normalize: 'out' must have length ${features.length}, current value is ${out.length}`);
  }
  const shift = stats.kind === "standardize" ? stats.mean : stats.min;
  const scale = stats.kind === "standardize" ? stats.std : stats.range;
  for (let row = 0; row < features.length; row += n) {
    for (let j = 0; j < n; j++) out[row + j] = (features[row + j] - shift[j]) / scale[j];
  }
  return out;
}

/**
 * `dataset` with its features normalized by {@link normalizeFeatures} (a new dataset; labels are
 * shared, not copied). Throws a TypeError when the dataset's feature count differs from the fitted one.
 */
export function applyNormalization(dataset: Dataset, stats: Normalization): Dataset {
  const n = normalizationWidth(stats);
  if (dataset.shape[1] !== n) {
    throw new TypeError(
      `Cannot normalize '${dataset.name}': it must have ${n} features (the fitted width), current value is ${dataset.shape[1]}`,
    );
  }
  return { ...dataset, features: normalizeFeatures(dataset.features, stats) };
}
