/**
 * The descent optimizer: a direction transform followed by a learning-rate scale, as optax chains
 * `scale_by_adam` and `scale_by_learning_rate`.
 */
import { checkTensors } from "./named-arrays.ts";
import type { DescentOptimizer, DescentState, Direction, NamedArrays } from "./types.ts";

/**
 * Builds `W ← W − α_t·d_t` from a direction transform (`d_t`) and a learning-rate rule
 * (`α_t = rate(t)`, `t` the 0-based number of the update). `update` returns the updates
 * `u = −α_t·d_t` (each rounded to float32 once) and the state `{step: t + 1, learningRate: α_t,
 * ...moments}`; `init` gives `{step: 0, learningRate: rate(0), ...moments}`. A rate that is not a
 * finite number ≥ 0 throws a RangeError when it is used. Pure: no input is modified.
 */
export function descent<M extends object>(direction: Direction<M>, rate: (step: number) => number): DescentOptimizer<M> {
  const name = direction.name;
  const rateAt = (step: number): number => checkRate(name, rate(step), step);
  return {
    name,
    direction,
    rate,
    init(params: Readonly<NamedArrays>): DescentState<M> {
      checkTensors(params, `init ${name}`, "params");
      return { step: 0, learningRate: rateAt(0), ...direction.init(params) };
    },
    update(grads: Readonly<NamedArrays>, state: DescentState<M>): [NamedArrays, DescentState<M>] {
      const t = state.step;
      const alpha = rateAt(t);
      const [updates, moments] = direction.update(grads, state, t + 1);
      const scale = -alpha;
      for (const key of Object.keys(updates)) {
        const u = updates[key];
        for (let i = 0; i < u.length; i++) u[i] *= scale;
      }
      return [updates, { step: t + 1, learningRate: alpha, ...moments }];
    },
    learningRate(state: DescentState<M>): number {
      return state.learningRate;
    },
  };
}

/** `alpha` when it is a finite number ≥ 0; otherwise a RangeError naming the optimizer and the step. */
export function checkRate(name: string, alpha: number, step: number): number {
  if (typeof alpha !== "number" || !(alpha >= 0) || alpha === Infinity) {
    throw new RangeError(`Cannot update ${name}: the learning rate must be a finite number >= 0, current value is ${alpha} (step ${step})`);
  }
  return alpha;
}

/** A learning-rate rule that always gives `learningRate`. */
export function constantRate(learningRate: number): (step: number) => number {
  return () => learningRate;
}
