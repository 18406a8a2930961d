/**
 * Early stopping as a pure tracker: the caller evaluates a dev metric after each epoch and passes
 * it to {@link observe}, which returns a new state saying which epoch was best so far and whether
 * to stop. The caller keeps the parameters; the state can hold a reference to the best ones.
 */
import { show } from "./validate.ts";

export type EarlyStoppingMode = "min" | "max";

export interface EarlyStoppingOptions {
  /** The metric watched, e.g. "devLoss" or "devError" (used for the default mode and in messages). */
  readonly metric: string;
  /**
   * "min" when lower is better, "max" when higher is better. Default: "max" when the metric name
   * contains "accuracy", "precision", "recall" or "f1" (any case), else "min" (losses, errors).
   */
  readonly mode?: EarlyStoppingMode;
  /** Epochs without improvement tolerated before stopping; an integer ≥ 0, default 3. */
  readonly patience?: number;
  /** Smallest change that counts as an improvement; ≥ 0, default 0. */
  readonly minDelta?: number;
}

export interface EarlyStoppingState<T = unknown> {
  readonly metric: string;
  readonly mode: EarlyStoppingMode;
  readonly patience: number;
  readonly minDelta: number;
  /** Best value seen so far; null before the first finite value. */
  readonly best: number | null;
  /** Epoch of `best`; null before the first finite value. */
  readonly bestEpoch: number | null;
  /** Epochs since the last improvement. */
  readonly wait: number;
  /** True once `wait` has reached `patience`; it stays true. */
  readonly stop: boolean;
  /** The last epoch observed; null before the first observation. */
  readonly lastEpoch: number | null;
  /** The `params` passed with the best value (kept by reference, never copied). */
  readonly bestParams?: T;
}

const MAX_MODE = /accuracy|precision|recall|f1/i;

/**
 * A fresh early-stopping state from validated options: `mode` defaults from the metric name
 * ("max" for accuracy, precision, recall, F1; "min" otherwise), `patience` to 3, `minDelta` to 0.
 */
export function earlyStopping<T = unknown>(options: EarlyStoppingOptions): EarlyStoppingState<T> {
  const what = "create early stopping";
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`Cannot ${what}: 'options' must be an object, current value is ${show(options)}`);
  }
  const { metric } = options;
  if (typeof metric !== "string" || metric.length === 0) {
    throw new TypeError(`Cannot ${what}: 'metric' must be a non-empty string, current value is ${show(metric)}`);
  }
  const mode = options.mode ?? (MAX_MODE.test(metric) ? "max" : "min");
  if (mode !== "min" && mode !== "max") {
    throw new TypeError(`Cannot ${what}: 'mode' must be "min" or "max", current value is ${show(mode)}`);
  }
  const patience = options.patience ?? 3;
  if (typeof patience !== "number" || !Number.isInteger(patience) || patience < 0) {
    throw new RangeError(`Cannot ${what}: 'patience' must be an integer >= 0, current value is ${show(patience)}`);
  }
  const minDelta = options.minDelta ?? 0;
  if (typeof minDelta !== "number" || !Number.isFinite(minDelta) || minDelta < 0) {
    throw new RangeError(`Cannot ${what}: 'minDelta' must be a finite number >= 0, current value is ${show(minDelta)}`);
  }
  return { metric, mode, patience, minDelta, best: null, bestEpoch: null, wait: 0, stop: false, lastEpoch: null };
}

/**
 * Records the metric `value` of `epoch` and returns the new state (the old one is not changed).
 * The value improves on the best when value < best − minDelta (mode "min") or value > best +
 * minDelta (mode "max"); the first finite value always improves. On improvement best, bestEpoch
 * and bestParams are replaced (bestParams by `params`, undefined when not given, so it never
 * belongs to another epoch) and wait = 0; otherwise wait grows by one,
 * and stop becomes true when wait ≥ patience. A NaN or infinite value never improves (a diverged
 * run counts toward patience). Epochs must be integers that increase from call to call.
 */
export function observe<T>(
  state: EarlyStoppingState<T>,
  epoch: number,
  value: number,
  params?: T,
): EarlyStoppingState<T> {
  const what = `observe '${state.metric}' for early stopping`;
  if (!Number.isInteger(epoch) || epoch < 0) {
    throw new RangeError(`Cannot ${what}: 'epoch' must be an integer >= 0, current value is ${show(epoch)}`);
  }
  if (state.lastEpoch !== null && epoch <= state.lastEpoch) {
    throw new RangeError(
      `Cannot ${what}: 'epoch' must be greater than the last epoch observed (${state.lastEpoch}), current value is ${epoch}`,
    );
  }
  if (typeof value !== "number") {
    throw new TypeError(`Cannot ${what}: 'value' must be a number, current value is ${show(value)}`);
  }
  const improved = Number.isFinite(value) &&
    (state.best === null ||
      (state.mode === "min" ? value < state.best - state.minDelta : value > state.best + state.minDelta));
  if (improved) {
    return { ...state, best: value, bestEpoch: epoch, wait: 0, lastEpoch: epoch, bestParams: params };
  }
  const wait = state.wait + 1;
  return { ...state, wait, stop: state.stop || wait >= state.patience, lastEpoch: epoch };
}
