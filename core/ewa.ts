/**
 * Exponentially weighted averages (the course's "exponentially weighted moving averages"), used to
 * smooth training-loss curves.
 */
import { expectNumber, isRecord, show } from "./validate.ts";

/**
 * The state after t observations: `average` = v_t, `weight` = 1 − βᵗ (the total weight v_t puts on
 * the observations; it is itself the average of a constant 1), `count` = t.
 */
export interface EwaState {
  readonly count: number;
  readonly average: number;
  readonly weight: number;
}

export interface EwaOptions {
  /** β in [0, 1), default 0.9 (an average over about 1/(1−β) = 10 values). */
  readonly beta?: number;
  /** Report v_t/(1 − βᵗ) instead of v_t, default false. */
  readonly biasCorrection?: boolean;
}

/** The incremental form: a pure (init, update, value) triple. */
export interface Ewa {
  /** v_0 = 0: `{count: 0, average: 0, weight: 0}`. */
  init(): EwaState;
  /** v_t = β·v_{t−1} + (1−β)·θ_t; returns a new state. */
  update(state: EwaState, value: number): EwaState;
  /** v_t, or v_t/(1−βᵗ) with bias correction (NaN before the first observation). */
  value(state: EwaState): number;
}

function resolve(options: EwaOptions, what: string): { beta: number; biasCorrection: boolean } {
  if (!isRecord(options)) {
    throw new TypeError(`Cannot ${what}: options must be an object, current value is ${show(options)}`);
  }
  const beta = expectNumber(options.beta ?? 0.9, "beta", what, { min: 0, max: 1, maxExclusive: true });
  const biasCorrection = options.biasCorrection ?? false;
  if (typeof biasCorrection !== "boolean") {
    throw new TypeError(`Cannot ${what}: 'biasCorrection' must be a boolean, current value is ${show(biasCorrection)}`);
  }
  return { beta, biasCorrection };
}

/**
 * An exponentially weighted average: v_0 = 0, v_t = β·v_{t−1} + (1−β)·θ_t, and with bias
 * correction the reported value is v_t/(1 − βᵗ), which removes the pull towards 0 of the first
 * values (β = 0.9, θ = 40, 49, 45: v = 4, 8.5, 12.15; corrected 40, 44.74, 44.83). 1 − βᵗ is
 * tracked as the average of a constant 1 (w_t = β·w_{t−1} + (1−β)), with no power. Pure: `update`
 * returns a new state.
 */
export function ewa(options: EwaOptions = {}): Ewa {
  const { beta, biasCorrection } = resolve(options, "create ewa");
  const c = 1 - beta;
  return {
    init: () => ({ count: 0, average: 0, weight: 0 }),
    update: (state, value) => ({
      count: state.count + 1,
      average: beta * state.average + c * value,
      weight: beta * state.weight + c,
    }),
    value: (state) => {
      if (state.count === 0) return NaN;
      return biasCorrection ? state.average / state.weight : state.average;
    },
  };
}

/**
 * Smooths a whole series with {@link ewa}: element t of the result is v_{t+1} (or v_{t+1}/(1−β^{t+1})
 * with bias correction) after the first t+1 values. Non-finite values propagate to all later ones.
 * Returns a new array of the same length.
 */
export function smooth(series: ArrayLike<number>, options: EwaOptions = {}): number[] {
  const { beta, biasCorrection } = resolve(options, "smooth");
  const c = 1 - beta;
  const out = new Array<number>(series.length);
  let average = 0, weight = 0;
  for (let t = 0; t < series.length; t++) {
    average = beta * average + c * series[t];
    weight = beta * weight + c;
    out[t] = biasCorrection ? average / weight : average;
  }
  return out;
}
