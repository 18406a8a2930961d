/** Taking the learning rate from a schedule. */
import type { Schedule } from "../schedule.ts";
import { expectNumber } from "../validate.ts";
import { descent } from "./descent.ts";
import { expectOptions } from "./options.ts";
import type { DescentOptimizer } from "./types.ts";

export interface WithScheduleOptions {
  /** Updates per epoch (an integer ≥ 1): `epoch = floor(step / stepsPerEpoch)`. */
  readonly stepsPerEpoch: number;
}

/**
 * Replaces the learning rate of a descent optimizer (sgd, momentum, rmsprop, adam, or one already
 * scheduled) by a schedule: the update with 0-based number `t` is exactly `W ← W − α_t·d_t` with
 * `α_t = schedule(⌊t/stepsPerEpoch⌋, t)` and `d_t` the optimizer's direction, so the moments and
 * bias corrections are those of the unscheduled optimizer. `t` is the state's `step`, the number of
 * updates applied before (skipped ones under `applyIfFinite` do not count). The optimizer's own
 * learning rate is ignored; the state has the same shape, with `learningRate` the α_t of the last
 * update (`schedule(0, 0)` after `init`). A schedule value that is not a finite number ≥ 0 throws
 * a RangeError at that update.
 */
export function withSchedule<M extends object>(
  optimizer: DescentOptimizer<M>,
  schedule: Schedule,
  options: WithScheduleOptions,
): DescentOptimizer<M> {
  const what = "create withSchedule";
  if (typeof optimizer?.direction?.update !== "function") {
    throw new TypeError(
      `Cannot ${what}: the optimizer must be built by sgd, momentum, rmsprop or adam (wrap applyIfFinite outside withSchedule)`,
    );
  }
  if (typeof schedule !== "function") {
    throw new TypeError(`Cannot ${what}: the schedule must be a function of (epoch, step)`);
  }
  const o = expectOptions(options, what);
  const stepsPerEpoch = expectNumber(o.stepsPerEpoch, "stepsPerEpoch", what, { min: 1, integer: true });
  return descent(optimizer.direction, (step) => schedule(Math.floor(step / stepsPerEpoch), step));
}
