/**
 * Heavy-ball momentum in PyTorch's form, plain and Nesterov: the outer optimizers of local-step
 * rounds, in the form DiLoCo's hyperparameters (α 0.7, μ 0.9) are published in.
 */
import { constantRate, descent } from "./descent.ts";
import { expectNumber } from "../validate.ts";
import { expectBoolean, expectLearningRate, expectOptions } from "./options.ts";
import { checkSameTensors, zerosLike } from "./named-arrays.ts";
import type { DescentOptimizer, DescentState, Direction, NamedArrays } from "./types.ts";

/** `b`: the momentum buffer by parameter name. */
export interface HeavyBallMoments {
  readonly b: NamedArrays;
}
/** `{step, learningRate, b}`. */
export type HeavyBallState = DescentState<HeavyBallMoments>;

export interface HeavyBallOptions {
  /** α > 0. */
  readonly learningRate: number;
  /** μ in [0, 1), default 0.9. */
  readonly momentum?: number;
  /** Nesterov's look-ahead, default false. */
  readonly nesterov?: boolean;
}

/**
 * `B ← μ·B + g`, then `d = B` or, with Nesterov, `d = g + μ·B` (the new B), with `B = 0` initially:
 * `torch.optim.SGD(momentum=μ, nesterov=…)`, whose first update is `d = g` (plain) or `(1 + μ)·g`.
 */
export function heavyBallDirection(mu: number, nesterov: boolean): Direction<HeavyBallMoments> {
  const name = nesterov ? "nesterov" : "heavyBall";
  return {
    name,
    init: (params) => ({ b: zerosLike(params) }),
    update(grads: Readonly<NamedArrays>, moments: HeavyBallMoments): [NamedArrays, HeavyBallMoments] {
      checkSameTensors(grads, moments.b, `update ${name}`, "state");
      const m = mu;
      const d: NamedArrays = {};
      const b: NamedArrays = {};
      for (const key of Object.keys(grads)) {
        const g = grads[key], old = moments.b[key], n = g.length;
        const next = new Float32Array(n), dk = new Float32Array(n);
        for (let i = 0; i < n; i++) {
          const bi = Math.fround(m * old[i] + g[i]);
          next[i] = bi;
          dk[i] = nesterov ? g[i] + m * bi : bi;
        }
        b[key] = next;
        d[key] = dk;
      }
      return [d, { b }];
    },
  };
}

/** SGD with heavy-ball momentum, `W ← W − α·d` with the direction of {@link heavyBallDirection}. */
export function heavyBall(options: HeavyBallOptions): DescentOptimizer<HeavyBallMoments> {
  const what = "create heavyBall";
  const o = expectOptions(options, what);
  const learningRate = expectLearningRate(o.learningRate, what);
  const mu = expectNumber(o.momentum ?? 0.9, "momentum", what, { min: 0, max: 1, maxExclusive: true });
  const nesterov = expectBoolean(o.nesterov, "nesterov", what, false);
  return descent(heavyBallDirection(mu, nesterov), constantRate(learningRate));
}
