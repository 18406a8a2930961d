/** Gradient descent with momentum, in the course's exponentially-weighted-average form. */
import { constantRate, descent } from "./descent.ts";
import { intPow } from "./int-pow.ts";
import { expectBeta, expectBoolean, expectLearningRate, expectOptions } from "./options.ts";
import { checkSameTensors, zerosLike } from "./named-arrays.ts";
import type { DescentOptimizer, DescentState, Direction, NamedArrays } from "./types.ts";

/** `v`: the velocity (an exponentially weighted average of the gradients) by parameter name. */
export interface MomentumMoments {
  readonly v: NamedArrays;
}
/** `{step, learningRate, v}`. */
export type MomentumState = DescentState<MomentumMoments>;

export interface MomentumOptions {
  /** α > 0. */
  readonly learningRate: number;
  /** β in [0, 1), default 0.9. */
  readonly beta?: number;
  /** Divide the velocity by 1 − βᵗ, default false. */
  readonly biasCorrection?: boolean;
}

/**
 * The momentum direction: `V ← βV + (1−β)·dW`, `d = V`, or `d = V/(1−βᵗ)` with bias correction
 * (`t` the 1-based update number).
 */
export function momentumDirection(beta: number, biasCorrection: boolean): Direction<MomentumMoments> {
  const name = "momentum";
  const c = 1 - beta;
  return {
    name,
    init: (params) => ({ v: zerosLike(params) }),
    update(grads: Readonly<NamedArrays>, moments: MomentumMoments, t: number): [NamedArrays, MomentumMoments] {
      checkSameTensors(grads, moments.v, `update ${name}`, "state");
      const correction = biasCorrection ? 1 / (1 - intPow(beta, t)) : 1;
      const b = beta, a = c; // locals for the loop: see adamDirection
      const d: NamedArrays = {};
      const v: NamedArrays = {};
      for (const key of Object.keys(grads)) {
        const g = grads[key], vOld = moments.v[key], n = g.length;
        const vNew = new Float32Array(n), dk = new Float32Array(n);
        for (let i = 0; i < n; i++) {
          const vi = b * vOld[i] + a * g[i];
          vNew[i] = vi;
          dk[i] = vi * correction;
        }
        v[key] = vNew;
        d[key] = dk;
      }
      return [d, { v }];
    },
  };
}

/**
 * Momentum in the course's form (Andrew Ng, "Improving Deep Neural Networks"):
 * `V ← βV + (1−β)·dW`, `W ← W − α·V`, with `V = 0` initially; with `biasCorrection`,
 * `W ← W − α·V/(1−βᵗ)` at the t-th update (1-based). PyTorch, Keras and tfjs instead use
 * `V ← βV + dW`: for a constant α the two give the same trajectory when the course's α is
 * the other's α divided by (1−β) (e.g. ×10 for β = 0.9), since their V is the course's V/(1−β).
 * The state is `{step, learningRate, v}`.
 */
export function momentum(options: MomentumOptions): DescentOptimizer<MomentumMoments> {
  const what = "create momentum";
  const o = expectOptions(options, what);
  const learningRate = expectLearningRate(o.learningRate, what);
  const beta = expectBeta(o.beta, "beta", what, 0.9);
  const biasCorrection = expectBoolean(o.biasCorrection, "biasCorrection", what, false);
  return descent(momentumDirection(beta, biasCorrection), constantRate(learningRate));
}
