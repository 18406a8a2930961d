/**
 * Classification and regression counts and rates computed from model outputs: predicted classes,
 * correct counts, accuracy and error, and the confusion matrix. Outputs are row-major
 * Float32Array [m, k] (probabilities for softmax/sigmoid outputs, values for linear outputs).
 * Losses live with the model; this file only counts.
 *
 * Conventions:
 * - k > 1 (softmax): the predicted class is the argmax of the row (the first one on ties).
 * - k = 1 (sigmoid): a binary problem; the predicted class is 1 when the output is > 0.5, else 0
 *   (the course's `a > 0.5`; exactly 0.5 predicts 0).
 * - A row that holds a NaN predicts class -1: it is never correct, and the confusion matrix
 *   counts it in `invalid` rather than in a column (a diverged model scores 0, not chance).
 * {@link predictedClass} is the one implementation of these rules: ensemble scoring, the
 * coordinator's /predict and the counts here use it, and the engine's on-device correct count
 * (core/model/engine.ts) follows the same rules on tensors.
 */

/** Labels: class indices (length m), or row-major float targets [m, k] (one-hot, 0/1, or values). */
export type MetricLabels = Int32Array | Float32Array;

export interface MetricOptions {
  /**
   * Number of output columns k. Inferred as `outputs.length / labels.length` for class-index
   * labels; required with Float32Array targets (which have the outputs' shape).
   */
  readonly width?: number;
  /**
   * Regression only (Float32Array targets): a row is correct when every |output − target| ≤
   * tolerance. Without it, Float32Array targets are read as classes (argmax of a one-hot row,
   * or 0/1 with k = 1).
   */
  readonly tolerance?: number;
}

/** Correct count over a number of examples. */
export interface CorrectCount {
  readonly correct: number;
  readonly count: number;
}

/** Confusion matrix: `counts[t * classes + p]` examples of true class t predicted as p. */
export interface ConfusionMatrix {
  readonly classes: number;
  /** Row-major [classes, classes]: rows are true classes, columns predicted classes. */
  readonly counts: Int32Array;
  /** Examples whose output row held a NaN (no predicted class), by true class. */
  readonly invalid: Int32Array;
}

/** Per-class rates from a confusion matrix; NaN where the denominator is 0. */
export interface ClassRates {
  /** Examples of each true class (row sums, NaN rows included). */
  readonly support: Int32Array;
  /** TP / (TP + FP): of the examples predicted as the class, the fraction that belong to it. */
  readonly precision: Float64Array;
  /** TP / (TP + FN): of the examples of the class, the fraction predicted as it. */
  readonly recall: Float64Array;
  /** 2 · precision · recall / (precision + recall); 0 when both are 0. */
  readonly f1: Float64Array;
}

function checkWidth(outputs: Float32Array, width: number, what: string): number {
  if (!Number.isInteger(width) || width < 1) {
    throw new RangeError(`Cannot ${what}: 'width' must be an integer >= 1, current value is ${width}`);
  }
  if (outputs.length % width !== 0) {
    throw new RangeError(
      `Cannot ${what}: 'outputs.length' must be a multiple of 'width' (${width}), current value is ${outputs.length}`,
    );
  }
  return outputs.length / width;
}

function checkOutputs(outputs: unknown, what: string): asserts outputs is Float32Array {
  if (!(outputs instanceof Float32Array)) {
    throw new TypeError(`Cannot ${what}: 'outputs' must be a Float32Array, current value is ${typeName(outputs)}`);
  }
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") return (value as object).constructor?.name ?? "object";
  return typeof value;
}

/** Resolved shape [m, k] of the outputs for these labels. */
function shapeOf(outputs: Float32Array, labels: MetricLabels, options: MetricOptions, what: string): [number, number] {
  checkOutputs(outputs, what);
  if (labels instanceof Int32Array) {
    const m = labels.length;
    if (options.width !== undefined) {
      const rows = checkWidth(outputs, options.width, what);
      if (rows !== m) {
        throw new RangeError(
          `Cannot ${what}: 'labels.length' must equal the number of output rows (${rows}), current value is ${m}`,
        );
      }
      return [m, options.width];
    }
    if (m === 0) {
      if (outputs.length !== 0) {
        throw new RangeError(`Cannot ${what}: 'labels' is empty but 'outputs.length' is ${outputs.length}`);
      }
      return [0, 1];
    }
    if (outputs.length % m !== 0 || outputs.length === 0) {
      throw new RangeError(
        `Cannot ${what}: 'outputs.length' must be a positive multiple of 'labels.length' (${m}), current value is ${outputs.length}`,
      );
    }
    return [m, outputs.length / m];
  }
  if (labels instanceof Float32Array) {
    if (options.width === undefined) {
      throw new TypeError(`Cannot ${what}: 'width' is required with Float32Array targets`);
    }
    const m = checkWidth(outputs, options.width, what);
    if (labels.length !== outputs.length) {
      throw new RangeError(
        `Cannot ${what}: 'labels.length' must equal 'outputs.length' (${outputs.length}) for Float32Array targets, current value is ${labels.length}`,
      );
    }
    return [m, options.width];
  }
  throw new TypeError(`Cannot ${what}: 'labels' must be an Int32Array or a Float32Array, current value is ${typeName(labels)}`);
}

/**
 * Predicted class of row i of row-major outputs [m, k]: the argmax of the row for k > 1 (the first
 * index on ties), `output > 0.5 ? 1 : 0` for k = 1 (sigmoid), and -1 (no class, never correct)
 * when the row holds a NaN.
 */
export function predictedClass(data: Float32Array, i: number, k: number): number {
  if (k === 1) {
    const p = data[i];
    if (Number.isNaN(p)) return -1;
    return p > 0.5 ? 1 : 0;
  }
  const base = i * k;
  let best = 0;
  let bestValue = data[base];
  if (Number.isNaN(bestValue)) return -1;
  for (let j = 1; j < k; j++) {
    const v = data[base + j];
    if (Number.isNaN(v)) return -1;
    if (v > bestValue) {
      bestValue = v;
      best = j;
    }
  }
  return best;
}

/** True class of example i, validating the label. */
function trueClass(labels: MetricLabels, i: number, k: number, classes: number, what: string): number {
  if (labels instanceof Int32Array) {
    const t = labels[i];
    if (t < 0 || t >= classes) {
      throw new RangeError(`Cannot ${what}: 'labels[${i}]' must be a class index in [0, ${classes - 1}], current value is ${t}`);
    }
    return t;
  }
  if (k === 1) {
    const t = labels[i];
    if (t !== 0 && t !== 1) {
      throw new RangeError(`Cannot ${what}: 'labels[${i}]' must be 0 or 1 for a binary output, current value is ${t}`);
    }
    return t;
  }
  const t = predictedClass(labels, i, k);
  if (t < 0) throw new RangeError(`Cannot ${what}: 'labels' row ${i} holds a NaN`);
  return t;
}

function checkTolerance(tolerance: number, what: string): void {
  if (typeof tolerance !== "number" || !(tolerance >= 0) || !Number.isFinite(tolerance)) {
    throw new RangeError(`Cannot ${what}: 'tolerance' must be a finite number >= 0, current value is ${tolerance}`);
  }
}

/**
 * Predicted classes of row-major outputs [m, width]: the argmax of each row for width > 1 (first
 * index on ties), `output > 0.5 ? 1 : 0` for width 1 (sigmoid), and -1 for a row holding a NaN.
 * Returns a new Int32Array of length m.
 */
export function predictClasses(outputs: Float32Array, width: number): Int32Array {
  const what = "predict classes";
  checkOutputs(outputs, what);
  const m = checkWidth(outputs, width, what);
  const out = new Int32Array(m);
  for (let i = 0; i < m; i++) out[i] = predictedClass(outputs, i, width);
  return out;
}

/**
 * Number of correctly predicted examples and number of examples. Classification: correct when the
 * predicted class (see {@link predictClasses}) equals the true class (the label index, the argmax
 * of a one-hot target row, or the 0/1 target for width 1). Regression (`tolerance` set, Float32Array
 * targets): correct when every |ŷ_ij − y_ij| ≤ tolerance in the row. Counts are exact integers, so
 * shards can be summed.
 */
export function countCorrect(outputs: Float32Array, labels: MetricLabels, options: MetricOptions = {}): CorrectCount {
  const what = "count correct predictions";
  const [m, k] = shapeOf(outputs, labels, options, what);
  let correct = 0;
  if (options.tolerance !== undefined) {
    checkTolerance(options.tolerance, what);
    if (!(labels instanceof Float32Array)) {
      throw new TypeError(`Cannot ${what}: 'tolerance' needs Float32Array targets, 'labels' is an Int32Array`);
    }
    const tol = options.tolerance;
    for (let i = 0; i < m; i++) {
      let ok = true;
      for (let j = i * k; j < i * k + k; j++) {
        // NaN differences fail the test, so a diverged row is wrong.
        if (!(Math.abs(outputs[j] - labels[j]) <= tol)) {
          ok = false;
          break;
        }
      }
      if (ok) correct++;
    }
    return { correct, count: m };
  }
  const classes = k === 1 ? 2 : k;
  for (let i = 0; i < m; i++) {
    const t = trueClass(labels, i, k, classes, what);
    if (predictedClass(outputs, i, k) === t) correct++;
  }
  return { correct, count: m };
}

/**
 * Accuracy = correct / m (see {@link countCorrect} for what counts as correct), a fraction in
 * [0, 1]. Throws a RangeError when there are no examples.
 */
export function accuracy(outputs: Float32Array, labels: MetricLabels, options: MetricOptions = {}): number {
  const { correct, count } = countCorrect(outputs, labels, options);
  if (count === 0) throw new RangeError("Cannot compute accuracy: there are no examples (m = 0)");
  return correct / count;
}

/**
 * Error rate = 1 − accuracy = (m − correct) / m, a fraction in [0, 1] (the "error" of the
 * course's bias/variance analysis). Throws a RangeError when there are no examples.
 */
export function errorRate(outputs: Float32Array, labels: MetricLabels, options: MetricOptions = {}): number {
  const { correct, count } = countCorrect(outputs, labels, options);
  if (count === 0) throw new RangeError("Cannot compute the error rate: there are no examples (m = 0)");
  return (count - correct) / count;
}

/**
 * Confusion matrix of classification outputs: `counts[t · C + p]` is the number of examples of
 * true class t predicted as class p, with C = width (softmax) or 2 (width 1, sigmoid). Rows whose
 * output holds a NaN go to `invalid[t]`. The diagonal sum is the correct count of
 * {@link countCorrect}. Regression targets (`tolerance`) are refused with a TypeError.
 */
export function confusionMatrix(
  outputs: Float32Array,
  labels: MetricLabels,
  options: MetricOptions = {},
): ConfusionMatrix {
  const what = "compute a confusion matrix";
  if (options.tolerance !== undefined) {
    throw new TypeError(`Cannot ${what}: 'tolerance' is for regression targets, which have no classes`);
  }
  const [m, k] = shapeOf(outputs, labels, options, what);
  const classes = k === 1 ? 2 : k;
  const counts = new Int32Array(classes * classes);
  const invalid = new Int32Array(classes);
  for (let i = 0; i < m; i++) {
    const t = trueClass(labels, i, k, classes, what);
    const p = predictedClass(outputs, i, k);
    if (p < 0) invalid[t]++;
    else counts[t * classes + p]++;
  }
  return { classes, counts, invalid };
}

/**
 * Element-wise sum of confusion matrices of the same number of classes (e.g. one per shard or
 * chunk); returns a new matrix.
 */
export function mergeConfusionMatrices(matrices: readonly ConfusionMatrix[]): ConfusionMatrix {
  if (matrices.length === 0) {
    throw new RangeError("Cannot merge confusion matrices: 'matrices' must not be empty");
  }
  const classes = matrices[0].classes;
  const counts = new Int32Array(classes * classes);
  const invalid = new Int32Array(classes);
  matrices.forEach((matrix, index) => {
    if (matrix.classes !== classes || matrix.counts.length !== classes * classes || matrix.invalid.length !== classes) {
      throw new RangeError(
        `Cannot merge confusion matrices: 'matrices[${index}].classes' must be ${classes}, current value is ${matrix.classes}`,
      );
    }
    for (let i = 0; i < counts.length; i++) counts[i] += matrix.counts[i];
    for (let i = 0; i < classes; i++) invalid[i] += matrix.invalid[i];
  });
  return { classes, counts, invalid };
}

/**
 * Per-class support, precision TP/(TP+FP), recall TP/(TP+FN) and F1 = 2PR/(P+R) from a confusion
 * matrix, where for class c: TP = counts[c][c], TP+FP = column sum, TP+FN = row sum plus the NaN
 * rows of class c. A rate whose denominator is 0 is NaN.
 */
export function classRates(matrix: ConfusionMatrix): ClassRates {
  const c = matrix.classes;
  const support = new Int32Array(c);
  const precision = new Float64Array(c);
  const recall = new Float64Array(c);
  const f1 = new Float64Array(c);
  for (let cls = 0; cls < c; cls++) {
    let row = matrix.invalid[cls];
    let column = 0;
    for (let j = 0; j < c; j++) {
      row += matrix.counts[cls * c + j];
      column += matrix.counts[j * c + cls];
    }
    const tp = matrix.counts[cls * c + cls];
    support[cls] = row;
    precision[cls] = column === 0 ? NaN : tp / column;
    recall[cls] = row === 0 ? NaN : tp / row;
    const p = precision[cls], r = recall[cls];
    f1[cls] = Number.isNaN(p) || Number.isNaN(r) ? NaN : p + r === 0 ? 0 : (2 * p * r) / (p + r);
  }
  return { support, precision, recall, f1 };
}
