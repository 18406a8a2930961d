/**
 * Optimizers as pure (init, update) pairs over named Float32Array tensors, in the style of optax:
 * each is a direction transform (`d_t`) scaled by a learning rate (`u = −α_t·d_t`), applied with
 * `applyUpdates`. Robustness and schedules are wrappers: `applyIfFinite`, `withSchedule`.
 *
 * ```ts
 * const opt = applyIfFinite(withSchedule(adam({ learningRate: 1e-3 }), schedule(spec, 1e-3), { stepsPerEpoch }));
 * let state = opt.init(params);
 * const [updates, next] = opt.update(grads, state, params);
 * params = applyUpdates(params, updates);
 * opt.learningRate(next); // the rate that update used
 * ```
 */
export type { DescentOptimizer, DescentState, Direction, Optimizer } from "./types.ts";
export { descent } from "./descent.ts";
export { sgd, type SgdMoments, type SgdOptions, type SgdState } from "./sgd.ts";
export { momentum, type MomentumMoments, type MomentumOptions, type MomentumState } from "./momentum.ts";
export { rmsprop, type RmspropMoments, type RmspropOptions, type RmspropState } from "./rmsprop.ts";
export { adam, type AdamMoments, type AdamOptions, type AdamState } from "./adam.ts";
export { heavyBall, type HeavyBallMoments, type HeavyBallOptions, type HeavyBallState } from "./nesterov.ts";
export { applyUpdates } from "./apply-updates.ts";
export { descendInPlace } from "./descend-in-place.ts";
export { applyIfFinite, type ApplyIfFiniteOptions, type ApplyIfFiniteState } from "./apply-if-finite.ts";
export { withSchedule, type WithScheduleOptions } from "./with-schedule.ts";
export { type AnyDescentOptimizer, optimizer, type OptimizerSpec } from "./from-spec.ts";
