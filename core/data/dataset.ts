/**
 * The in-memory dataset every part of edgeprop passes around: row-major float32 features and
 * either class indices (classification) or float targets (regression).
 */

/** Class labels: `values[i]` is the class index of example i, in [0, classes.length). */
export interface ClassLabels {
  readonly kind: "classes";
  readonly values: Int32Array;
  /** Class names, by index (numeric labels become "0", "1", ...). */
  readonly classes: readonly string[];
}

/** Regression targets: row-major [m, width]. */
export interface TargetLabels {
  readonly kind: "targets";
  readonly values: Float32Array;
  readonly width: number;
}

export type Labels = ClassLabels | TargetLabels;

export interface Dataset {
  readonly name: string;
  /** Row-major [m, n] features. */
  readonly features: Float32Array;
  /** [m, n]: number of examples and of features per example. */
  readonly shape: readonly [number, number];
  /** Shape of one example when it is an image ([height, width, channels]); the product is n. */
  readonly inputShape?: readonly number[];
  readonly labels: Labels;
}

/** Number of examples. */
export function size(dataset: Dataset): number {
  return dataset.shape[0];
}

/**
 * The examples at `indices`, in that order, as a new dataset (features and labels are copied).
 */
export function take(dataset: Dataset, indices: ArrayLike<number>, name = dataset.name): Dataset {
  const [, n] = dataset.shape;
  const m = indices.length;
  const features = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    const row = indices[i];
    features.set(dataset.features.subarray(row * n, row * n + n), i * n);
  }
  const labels = dataset.labels;
  let out: Labels;
  if (labels.kind === "classes") {
    const values = new Int32Array(m);
    for (let i = 0; i < m; i++) values[i] = labels.values[indices[i]];
    out = { kind: "classes", values, classes: labels.classes };
  } else {
    const w = labels.width;
    const values = new Float32Array(m * w);
    for (let i = 0; i < m; i++) values.set(labels.values.subarray(indices[i] * w, indices[i] * w + w), i * w);
    out = { kind: "targets", values, width: w };
  }
  return { name, features, shape: [m, n], inputShape: dataset.inputShape, labels: out };
}
