/**
 * The shapes shared by the optimizers: named float32 tensors, the pure (init, update) pair, and the
 * split of a descent optimizer into a direction transform and a learning-rate rule (optax's
 * `scale_by_adam` + `scale_by_learning_rate`).
 */

import type { NamedArrays } from "../model/parameters.ts";

export type { NamedArrays };

/**
 * An optimizer as a pure pair (optax's `GradientTransformation`): `init` builds the state from the
 * parameters, `update` maps gradients and a state to updates and the next state without modifying
 * its inputs. Apply the updates with `applyUpdates` (params + updates). The returned updates and
 * state are fresh arrays owned by the caller; arrays of the old state may be shared with the new one
 * only where they did not change. `learningRate(state)` is the rate the last update used (before any
 * update: the rate the first update will use), for logging.
 */
export interface Optimizer<S> {
  /** Name used in error messages, e.g. `adam` or `applyIfFinite(adam)`. */
  readonly name: string;
  init(params: Readonly<NamedArrays>): S;
  update(grads: Readonly<NamedArrays>, state: S, params?: Readonly<NamedArrays>): [NamedArrays, S];
  learningRate(state: S): number;
}

/**
 * A direction transform: the `d_t` of `W ← W − α_t·d_t` with the moments it keeps by parameter
 * name. `t` is the 1-based number of the update being computed (for bias corrections). The returned
 * direction tensors are fresh and owned by the caller, which may scale them in place.
 */
export interface Direction<M> {
  readonly name: string;
  init(params: Readonly<NamedArrays>): M;
  update(grads: Readonly<NamedArrays>, moments: M, t: number): [NamedArrays, M];
  /**
   * The mean `fround(sum/rows)` of gradient sums, `update`, the learning-rate scale and
   * `applyUpdates` in one pass, with their bits: `W ← W + fround(scale·d)` written into `params`,
   * the new moments into those of `moments`, the sums used as scratch; returns the new moments. For descendInPlace (a round's replica),
   * which owns all three; directions without it take `update` and a second pass there.
   */
  applyInPlace?(sums: NamedArrays, moments: M, t: number, scale: number, params: NamedArrays, rows: number): M;
}

/**
 * The state of a descent optimizer: a plain record with the number of updates applied so far, the
 * learning rate of the last update, and the direction's moments by parameter name (e.g. Adam's `v`
 * and `s`). It holds only numbers, plain objects and Float32Arrays, so it goes through the wire
 * codec unchanged.
 */
export type DescentState<M> = { readonly step: number; readonly learningRate: number } & M;

/**
 * `W ← W − α_t·d_t`: a direction transform and a learning-rate rule `rate(step)`, where `step` is the
 * 0-based number of the update (the number of updates applied before it). `withSchedule` builds a
 * new one from the same direction with another rule.
 */
export interface DescentOptimizer<M> extends Optimizer<DescentState<M>> {
  readonly direction: Direction<M>;
  readonly rate: (step: number) => number;
}
