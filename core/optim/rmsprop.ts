/** RMSprop. */
import { constantRate, descent } from "./descent.ts";
import { expectBeta, expectEpsilon, expectLearningRate, expectOptions } from "./options.ts";
import { checkSameTensors, zerosLike } from "./named-arrays.ts";
import type { DescentOptimizer, DescentState, Direction, NamedArrays } from "./types.ts";

/** `s`: the exponentially weighted average of the squared gradients by parameter name. */
export interface RmspropMoments {
  readonly s: NamedArrays;
}
/** `{step, learningRate, s}`. */
export type RmspropState = DescentState<RmspropMoments>;

export interface RmspropOptions {
  /** α > 0. */
  readonly learningRate: number;
  /** β in [0, 1), default 0.9. */
  readonly beta?: number;
  /** ε > 0, default 1e-8. */
  readonly epsilon?: number;
}

/** The RMSprop direction: `S ← βS + (1−β)·dW²`, `d = dW/(√S + ε)`. */
export function rmspropDirection(beta: number, epsilon: number): Direction<RmspropMoments> {
  const name = "rmsprop";
  const c = 1 - beta;
  return {
    name,
    init: (params) => ({ s: zerosLike(params) }),
    update(grads: Readonly<NamedArrays>, moments: RmspropMoments): [NamedArrays, RmspropMoments] {
      checkSameTensors(grads, moments.s, `update ${name}`, "state");
      const b = beta, a = c, eps = epsilon; // locals for the loop: see adamDirection
      const d: NamedArrays = {};
      const s: NamedArrays = {};
      for (const key of Object.keys(grads)) {
        const g = grads[key], sOld = moments.s[key], n = g.length;
        const sNew = new Float32Array(n), dk = new Float32Array(n);
        for (let i = 0; i < n; i++) {
          const gi = g[i];
          const si = b * sOld[i] + a * gi * gi;
          sNew[i] = si;
          dk[i] = gi / (Math.sqrt(si) + eps);
        }
        s[key] = sNew;
        d[key] = dk;
      }
      return [d, { s }];
    },
  };
}

/**
 * RMSprop (Hinton, Coursera lecture 6e): `S ← βS + (1−β)·dW²` (elementwise square), then
 * `W ← W − α·dW/(√S + ε)`, with `S = 0` initially and no bias correction. The state is
 * `{step, learningRate, s}`.
 */
export function rmsprop(options: RmspropOptions): DescentOptimizer<RmspropMoments> {
  const what = "create rmsprop";
  const o = expectOptions(options, what);
  const learningRate = expectLearningRate(o.learningRate, what);
  const beta = expectBeta(o.beta, "beta", what, 0.9);
  const epsilon = expectEpsilon(o.epsilon, what, 1e-8);
  return descent(rmspropDirection(beta, epsilon), constantRate(learningRate));
}
