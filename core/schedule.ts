/**
 * Learning-rate schedules (learning-rate decay): functions of (epoch, step) built from the job
 * spec's `schedule` field (DESIGN.md), e.g. `{ "type": "inverseTime", "decayRate": 0.1 }`. The
 * epoch is 0-based; `withSchedule` in `optim/` feeds `epoch = ⌊step/stepsPerEpoch⌋`.
 */
import { intPow } from "./optim/int-pow.ts";
import { expectEnum, expectNumber, expectRecord, show } from "./validate.ts";
import { ValidationError } from "./validation-error.ts";

/** The learning rate at a 0-based epoch and 0-based step (the update count). */
export type Schedule = (epoch: number, step: number) => number;

/** The `schedule` field of a job spec. */
export type ScheduleSpec =
  | { readonly type: "constant" }
  | { readonly type: "inverseTime"; readonly decayRate: number }
  | { readonly type: "exponential"; readonly base?: number }
  | { readonly type: "inverseSqrt"; readonly k?: number }
  | { readonly type: "step"; readonly factor: number; readonly every: number }
  | { readonly type: "manual"; readonly rates: ReadonlyArray<readonly [number, number]> };

export type ScheduleType = ScheduleSpec["type"];

const TYPES: readonly ScheduleType[] = ["constant", "inverseTime", "exponential", "inverseSqrt", "step", "manual"];
const FIELDS: Record<ScheduleType, readonly string[]> = {
  constant: ["type"],
  inverseTime: ["type", "decayRate"],
  exponential: ["type", "base"],
  inverseSqrt: ["type", "k"],
  step: ["type", "factor", "every"],
  manual: ["type", "rates"],
};

/**
 * Builds a schedule from a spec and the initial learning rate α0 (`learningRate`, > 0), with e the
 * 0-based epoch:
 * - `constant`: α = α0;
 * - `inverseTime` (`decayRate` ≥ 0): α = α0/(1 + decayRate·e);
 * - `exponential` (`base` in (0, 1], default 0.95): α = base^e·α0;
 * - `inverseSqrt` (`k` > 0, default 1): α = k/√max(e, 1)·α0, so epochs 0 and 1 both give k·α0
 *   (√0 would divide by zero);
 * - `step` (`factor` in (0, 1], `every` an integer ≥ 1): α = α0·factor^⌊e/every⌋, i.e. multiplied
 *   by `factor` every `every` epochs;
 * - `manual` (`rates`, a non-empty list of `[epoch, rate]` pairs with integer epochs ≥ 0 strictly
 *   increasing and rates > 0): the rate of the last pair whose epoch ≤ e, and α0 before the first.
 * Every field is validated up front: an unknown type or field, a value of the wrong type or out of
 * range is a ValidationError whose field and message name it (`schedule.decayRate`); messages
 * quote the value. Powers use repeated multiplication, so all runtimes get the same bits.
 */
export function schedule(spec: ScheduleSpec, learningRate: number): Schedule {
  const what = "create schedule";
  const alpha0 = expectNumber(learningRate, "learningRate", what, { min: 0, minExclusive: true });
  const type = expectEnum(
    (spec as { type?: unknown } | null | undefined)?.type,
    "schedule.type",
    what,
    TYPES,
  );
  const s = expectRecord(spec, "schedule", FIELDS[type], what);
  switch (type) {
    case "constant":
      return () => alpha0;
    case "inverseTime": {
      const decayRate = expectNumber(s.decayRate, "schedule.decayRate", what, { min: 0 });
      return (epoch) => alpha0 / (1 + decayRate * epoch);
    }
    case "exponential": {
      const base = expectNumber(s.base ?? 0.95, "schedule.base", what, { min: 0, minExclusive: true, max: 1 });
      return (epoch) => intPow(base, epoch) * alpha0;
    }
    case "inverseSqrt": {
      const k = expectNumber(s.k ?? 1, "schedule.k", what, { min: 0, minExclusive: true });
      return (epoch) => (k / Math.sqrt(Math.max(epoch, 1))) * alpha0;
    }
    case "step": {
      const factor = expectNumber(s.factor, "schedule.factor", what, { min: 0, minExclusive: true, max: 1 });
      const every = expectNumber(s.every, "schedule.every", what, { min: 1, integer: true });
      return (epoch) => alpha0 * intPow(factor, Math.floor(epoch / every));
    }
    case "manual": {
      const rates = s.rates;
      if (!Array.isArray(rates) || rates.length === 0) {
        throw new ValidationError(
          "schedule.rates",
          `Cannot ${what}: 'schedule.rates' must be a non-empty array of [epoch, rate] pairs, current value is ${show(rates)}`,
        );
      }
      const epochs: number[] = [];
      const values: number[] = [];
      rates.forEach((pair: unknown, i: number) => {
        if (!Array.isArray(pair) || pair.length !== 2) {
          throw new ValidationError(
            `schedule.rates[${i}]`,
            `Cannot ${what}: 'schedule.rates[${i}]' must be an [epoch, rate] pair, current value is ${show(pair)}`,
          );
        }
        const epoch = expectNumber(pair[0], `schedule.rates[${i}][0]`, what, { min: 0, integer: true });
        if (i > 0 && epoch <= epochs[i - 1]) {
          throw new ValidationError(
            `schedule.rates[${i}][0]`,
            `Cannot ${what}: 'schedule.rates[${i}][0]' must be greater than the previous epoch ${epochs[i - 1]}, current value is ${epoch}`,
          );
        }
        epochs.push(epoch);
        values.push(expectNumber(pair[1], `schedule.rates[${i}][1]`, what, { min: 0, minExclusive: true }));
      });
      return (epoch) => {
        let rate = alpha0;
        for (let i = 0; i < epochs.length && epochs[i] <= epoch; i++) rate = values[i];
        return rate;
      };
    }
  }
}
