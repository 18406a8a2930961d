/** Plain gradient descent. */
import { constantRate, descent } from "./descent.ts";
import { expectLearningRate, expectOptions } from "./options.ts";
import { checkTensors } from "./named-arrays.ts";
import type { DescentOptimizer, DescentState, Direction, NamedArrays } from "./types.ts";

/** SGD keeps no moments. */
export type SgdMoments = Record<never, never>;
/** `{step, learningRate}`. */
export type SgdState = DescentState<SgdMoments>;

export interface SgdOptions {
  /** α > 0. */
  readonly learningRate: number;
}

/** The identity direction `d = dW` (a fresh copy, so the caller may scale it in place). */
export function sgdDirection(): Direction<SgdMoments> {
  return {
    name: "sgd",
    init: () => ({}),
    update(grads: Readonly<NamedArrays>): [NamedArrays, SgdMoments] {
      checkTensors(grads, "update sgd", "gradients");
      const d: NamedArrays = {};
      for (const key of Object.keys(grads)) d[key] = grads[key].slice();
      return [d, {}];
    },
  };
}

/**
 * Gradient descent: `W ← W − α·dW`. The state is `{step, learningRate}`; with a mini-batch of one
 * example this is stochastic gradient descent, with the whole training set batch gradient descent.
 */
export function sgd(options: SgdOptions): DescentOptimizer<SgdMoments> {
  const what = "create sgd";
  const o = expectOptions(options, what);
  const learningRate = expectLearningRate(o.learningRate, what);
  return descent(sgdDirection(), constantRate(learningRate));
}
