/** Skipping updates whose gradients are not finite (optax's `apply_if_finite`). */
import { expectNumber, firstNonFinite } from "../validate.ts";
import { expectOptions } from "./options.ts";
import { checkTensors, zerosLike } from "./named-arrays.ts";
import type { Optimizer, NamedArrays } from "./types.ts";

/**
 * The state of {@link applyIfFinite}: the inner optimizer's state, the number of skipped updates
 * in all, and the number of skipped updates since the last applied one.
 */
export interface ApplyIfFiniteState<S> {
  readonly inner: S;
  readonly skipped: number;
  readonly consecutiveSkipped: number;
}

export interface ApplyIfFiniteOptions {
  /**
   * The most consecutive updates that may be skipped; one more non-finite gradient throws an
   * Error instead (training has diverged). An integer ≥ 0 or Infinity, default Infinity.
   */
  readonly maxConsecutive?: number;
}

/** True when every value of every tensor is finite. */
export function allFinite(tensors: Readonly<NamedArrays>): boolean {
  for (const key of Object.keys(tensors)) if (firstNonFinite(tensors[key]) >= 0) return false;
  return true;
}

/**
 * Wraps an optimizer so that an update whose gradients contain NaN or ±Infinity is skipped: it
 * returns zero updates and leaves the inner state untouched (the inner step count, moments and
 * learning rate do not advance), and counts the skip: `skipped ← skipped + 1`,
 * `consecutiveSkipped ← consecutiveSkipped + 1`; a finite update resets `consecutiveSkipped` to 0.
 * When `consecutiveSkipped` already equals `maxConsecutive`, a non-finite gradient throws an Error
 * (optax applies the update anyway instead). `learningRate(state)` is the inner one's. Wrap
 * outside `withSchedule`: `applyIfFinite(withSchedule(adam(...), ...))`.
 */
export function applyIfFinite<S>(
  optimizer: Optimizer<S>,
  options: ApplyIfFiniteOptions = {},
): Optimizer<ApplyIfFiniteState<S>> {
  const what = "create applyIfFinite";
  const o = expectOptions(options, what);
  const maxConsecutive = o.maxConsecutive === undefined || o.maxConsecutive === Infinity
    ? Infinity
    : expectNumber(o.maxConsecutive, "maxConsecutive", what, { min: 0, integer: true });
  if (typeof optimizer?.init !== "function" || typeof optimizer.update !== "function") {
    throw new TypeError(`Cannot ${what}: the first argument must be an optimizer`);
  }
  const name = `applyIfFinite(${optimizer.name})`;
  return {
    name,
    init(params: Readonly<NamedArrays>): ApplyIfFiniteState<S> {
      return { inner: optimizer.init(params), skipped: 0, consecutiveSkipped: 0 };
    },
    update(
      grads: Readonly<NamedArrays>,
      state: ApplyIfFiniteState<S>,
      params?: Readonly<NamedArrays>,
    ): [NamedArrays, ApplyIfFiniteState<S>] {
      checkTensors(grads, `update ${name}`, "gradients");
      if (allFinite(grads)) {
        const [updates, inner] = optimizer.update(grads, state.inner, params);
        return [updates, { inner, skipped: state.skipped, consecutiveSkipped: 0 }];
      }
      if (state.consecutiveSkipped >= maxConsecutive) {
        throw new Error(
          `Cannot update ${name}: the gradients are not finite for ${state.consecutiveSkipped + 1} ` +
            `consecutive updates, more than 'maxConsecutive' (${maxConsecutive})`,
        );
      }
      return [
        zerosLike(grads),
        { inner: state.inner, skipped: state.skipped + 1, consecutiveSkipped: state.consecutiveSkipped + 1 },
      ];
    },
    learningRate(state: ApplyIfFiniteState<S>): number {
      return optimizer.learningRate(state.inner);
    },
  };
}
