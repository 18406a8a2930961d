/**
 * Bias/variance diagnosis (Ng, *Improving Deep Neural Networks*, week 1, and *Structuring Machine
 * Learning Projects*, week 1): compare the training error with human-level error (a proxy for the
 * Bayes error) and the dev error with the training error, and say what to try next.
 */
import { show } from "./validate.ts";

export type Verdict = "high bias" | "high variance" | "high bias and high variance" | "good fit";

export interface DiagnosisInput {
  /** Error on the training set, a fraction in [0, 1]. */
  readonly trainError: number;
  /** Error on the dev set, a fraction in [0, 1]. */
  readonly devError: number;
  /** Human-level (proxy for Bayes) error, a fraction in [0, 1]; default 0. */
  readonly humanError?: number;
}

export interface DiagnosisOptions {
  /**
   * A gap counts as high when it is ≥ threshold (absolute, in error fraction). Default
   * {@link DEFAULT_DIAGNOSIS_THRESHOLD} = 0.02, two percentage points.
   */
  readonly threshold?: number;
}

export interface Diagnosis {
  readonly verdict: Verdict;
  /** trainError − humanError (may be negative when the model beats the human-level estimate). */
  readonly avoidableBias: number;
  /** devError − trainError (may be negative). */
  readonly variance: number;
  /** The larger of the gaps that are high ("bias" on a tie); null for a good fit. */
  readonly focus: "bias" | "variance" | null;
  /** The course's recipe for each high gap, the focus's first. */
  readonly recommendations: string[];
}

/**
 * Default threshold: 2 percentage points. With it the course's examples come out as in the
 * lectures: 1%/11% high variance, 15%/16% high bias, 15%/30% both, 0.5%/1% good fit, and with
 * human-level 7.5%, 8%/10% high variance (a 0.5-point bias gap, a 2-point variance gap).
 */
export const DEFAULT_DIAGNOSIS_THRESHOLD = 0.02;

/** Absorbs float rounding in differences of fractions (0.1 − 0.08 = 0.020000000000000004, 0.16 − 0.14 = 0.01999…). */
const SLACK = 1e-9;

/** The course's recipe for high bias (train error far above human level). */
export const BIAS_RECOMMENDATIONS: readonly string[] = [
  "Train a bigger network (more hidden units or more layers)",
  "Train longer or use a better optimization algorithm (momentum, RMSprop, Adam; tune the learning rate)",
  "Try a different neural network architecture or hyperparameters",
];

/** The course's recipe for high variance (dev error far above train error). */
export const VARIANCE_RECOMMENDATIONS: readonly string[] = [
  "Get more training data (or augment it: flips, shifts, distortions)",
  "Add regularization: L2 (weight decay), dropout, data augmentation, or early stopping",
  "Try a different neural network architecture or hyperparameters",
];

const GOOD_FIT_RECOMMENDATIONS: readonly string[] = [
  "Errors are near human level and train and dev agree: confirm on the test set; further gains need a better human-level estimate or more data",
];

function checkFraction(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new TypeError(`Cannot diagnose: '${field}' must be a finite number, current value is ${show(value)}`);
  }
  if (value < 0 || value > 1) {
    throw new RangeError(`Cannot diagnose: '${field}' must be a fraction in [0, 1], current value is ${value}`);
  }
  return value;
}

/**
 * Diagnoses bias and variance from error fractions: avoidable bias = trainError − humanError,
 * variance = devError − trainError; a gap ≥ `threshold` (default 0.02) is high, and the verdict is
 * "high bias", "high variance", "high bias and high variance" or "good fit". The recommendations
 * are the course's recipe for each high gap (bias: bigger network, train longer / better optimizer,
 * other architecture; variance: more data, regularization (L2, dropout, augmentation), other
 * architecture), the larger gap's first, with duplicates removed.
 */
export function diagnose(input: DiagnosisInput, options: DiagnosisOptions = {}): Diagnosis {
  if (typeof input !== "object" || input === null) {
    throw new TypeError(`Cannot diagnose: 'input' must be an object, current value is ${show(input)}`);
  }
  const trainError = checkFraction(input.trainError, "trainError");
  const devError = checkFraction(input.devError, "devError");
  const humanError = input.humanError === undefined ? 0 : checkFraction(input.humanError, "humanError");
  const threshold = options.threshold ?? DEFAULT_DIAGNOSIS_THRESHOLD;
  if (typeof threshold !== "number" || !Number.isFinite(threshold)) {
    throw new TypeError(`Cannot diagnose: 'threshold' must be a finite number, current value is ${show(threshold)}`);
  }
  if (threshold <= 0 || threshold > 1) {
    throw new RangeError(`Cannot diagnose: 'threshold' must be in (0, 1], current value is ${threshold}`);
  }

  const avoidableBias = trainError - humanError;
  const variance = devError - trainError;
  const highBias = avoidableBias >= threshold - SLACK;
  const highVariance = variance >= threshold - SLACK;

  let verdict: Verdict;
  let focus: Diagnosis["focus"];
  if (highBias && highVariance) {
    verdict = "high bias and high variance";
    focus = variance > avoidableBias ? "variance" : "bias";
  } else if (highBias) {
    verdict = "high bias";
    focus = "bias";
  } else if (highVariance) {
    verdict = "high variance";
    focus = "variance";
  } else {
    verdict = "good fit";
    focus = null;
  }

  let recommendations: string[];
  if (focus === null) {
    recommendations = [...GOOD_FIT_RECOMMENDATIONS];
  } else {
    const first = focus === "bias" ? BIAS_RECOMMENDATIONS : VARIANCE_RECOMMENDATIONS;
    const second = !(highBias && highVariance) ? [] : focus === "bias" ? VARIANCE_RECOMMENDATIONS : BIAS_RECOMMENDATIONS;
    recommendations = [...new Set([...first, ...second])];
  }
  return { verdict, avoidableBias, variance, focus, recommendations };
}

/**
 * The two gaps as a person reads them, in percentage points: "avoidable bias 1.20%, variance
 * 3.40%". A negative gap is no amount to act on, so it says what it means instead: dev error below
 * train error (the dev examples happen to be easier), or train error below the human-level
 * estimate (the estimate is too high).
 */
export function explainGaps(d: Pick<Diagnosis, "avoidableBias" | "variance">): string {
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
  const bias = d.avoidableBias < 0
    ? `avoidable bias none: train error is ${pct(-d.avoidableBias)} below the human-level estimate`
    : `avoidable bias ${pct(d.avoidableBias)}`;
  const variance = d.variance < 0
    ? `variance none: dev error is ${pct(-d.variance)} below train error`
    : `variance ${pct(d.variance)}`;
  return `${bias}; ${variance}`;
}
