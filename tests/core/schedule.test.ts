import { ValidationError } from "../../core/validation-error.ts";
import { describe, expect, it } from "vitest";
import { type ScheduleSpec, schedule } from "../../core/schedule.ts";

/** Values at epochs 0..n−1 (the step argument is irrelevant to these schedules). */
function at(spec: ScheduleSpec, alpha0: number, epochs: readonly number[]): number[] {
  const s = schedule(spec, alpha0);
  return epochs.map((e) => s(e, 1000 * e + 7));
}

function expectAllClose(actual: readonly number[], expected: readonly number[]): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => expect(a).toBeCloseTo(expected[i], 14));
}

describe("schedule values (hand-derived)", () => {
  it("constant: α0 at every epoch", () => {
    expect(at({ type: "constant" }, 0.1, [0, 1, 5, 100])).toEqual([0.1, 0.1, 0.1, 0.1]);
  });

  it("inverseTime: α0/(1 + decayRate·epoch)", () => {
    // α0 = 0.2, decayRate = 1 (the course's example): 0.2/1, 0.2/2, 0.2/3, 0.2/4.
    expectAllClose(at({ type: "inverseTime", decayRate: 1 }, 0.2, [0, 1, 2, 3]), [0.2, 0.1, 0.2 / 3, 0.05]);
    // decayRate = 0.1: epoch 10 → 0.2/(1 + 1) = 0.1.
    expectAllClose(at({ type: "inverseTime", decayRate: 0.1 }, 0.2, [10]), [0.1]);
    // decayRate = 0 is constant.
    expect(at({ type: "inverseTime", decayRate: 0 }, 0.2, [0, 50])).toEqual([0.2, 0.2]);
  });

  it("exponential: base^epoch·α0, base 0.95 by default", () => {
    // 0.2, 0.95·0.2 = 0.19, 0.95·0.19 = 0.1805, 0.95·0.1805 = 0.171475.
    expectAllClose(at({ type: "exponential" }, 0.2, [0, 1, 2, 3]), [0.2, 0.19, 0.1805, 0.171475]);
    // base 0.5: epoch 10 → 0.2/1024 = 0.0001953125 (exact in binary).
    expect(at({ type: "exponential", base: 0.5 }, 0.2, [10])).toEqual([0.2 / 1024]);
  });

  it("inverseSqrt: k/√max(epoch, 1)·α0", () => {
    // k = 1, α0 = 0.2: epochs 0 and 1 → 0.2, epoch 4 → 0.2/2 = 0.1, epoch 16 → 0.2/4 = 0.05.
    expectAllClose(at({ type: "inverseSqrt" }, 0.2, [0, 1, 4, 16]), [0.2, 0.2, 0.1, 0.05]);
    // k = 0.5: epoch 4 → 0.5/2·0.2 = 0.05.
    expectAllClose(at({ type: "inverseSqrt", k: 0.5 }, 0.2, [4]), [0.05]);
  });

  it("step: multiplied by factor every `every` epochs", () => {
    // α0 = 0.4, factor 0.5, every 3: epochs 0–2 → 0.4, 3–5 → 0.2, 6 → 0.1, 9 → 0.05.
    expect(at({ type: "step", factor: 0.5, every: 3 }, 0.4, [0, 1, 2, 3, 4, 5, 6, 9])).toEqual([
      0.4, 0.4, 0.4, 0.2, 0.2, 0.2, 0.1, 0.05,
    ]);
  });

  it("manual: the rate of the last pair whose epoch ≤ the current epoch, α0 before the first", () => {
    const spec: ScheduleSpec = { type: "manual", rates: [[0, 0.1], [5, 0.01], [8, 0.001]] };
    expect(at(spec, 0.5, [0, 4, 5, 7, 8, 100])).toEqual([0.1, 0.1, 0.01, 0.01, 0.001, 0.001]);
    expect(at({ type: "manual", rates: [[2, 0.05]] }, 0.1, [0, 1, 2, 3])).toEqual([0.1, 0.1, 0.05, 0.05]);
  });

  it("exponential and step match float64 powers closely", () => {
    const s = schedule({ type: "exponential", base: 0.97 }, 0.3);
    for (const e of [0, 1, 7, 33, 100, 1000]) expect(s(e, 0)).toBeCloseTo(0.3 * 0.97 ** e, 14);
    const st = schedule({ type: "step", factor: 0.9, every: 2 }, 0.3);
    for (const e of [0, 1, 7, 33, 100]) expect(st(e, 0)).toBeCloseTo(0.3 * 0.9 ** Math.floor(e / 2), 14);
  });
});

describe("schedule validation", () => {
  it("names the field and quotes the value", () => {
    expect(() => schedule({ type: "inverseTime", decayRate: -1 }, 0.1)).toThrow(
      new ValidationError("schedule.decayRate", "Cannot create schedule: 'schedule.decayRate' must be in [0, inf), current value is -1"),
    );
    expect(() => schedule({ type: "inverseTime" } as never, 0.1)).toThrow(/'schedule.decayRate'.*undefined/);
    expect(() => schedule({ type: "cosine" } as never, 0.1)).toThrow(/'schedule.type'.*"cosine"/);
    expect(() => schedule(undefined as never, 0.1)).toThrow(ValidationError);
    expect(() => schedule({ type: "inverseTime", decay: 0.1 } as never, 0.1)).toThrow(/'schedule.decay'/);
    expect(() => schedule({ type: "exponential", base: 1.5 }, 0.1)).toThrow(/'schedule.base'.*1.5/);
    expect(() => schedule({ type: "exponential", base: 0 }, 0.1)).toThrow(ValidationError);
    expect(() => schedule({ type: "inverseSqrt", k: 0 }, 0.1)).toThrow(/'schedule.k'/);
    expect(() => schedule({ type: "step", factor: 0.5, every: 0 }, 0.1)).toThrow(/'schedule.every'.*0/);
    expect(() => schedule({ type: "step", factor: 0.5, every: 1.5 }, 0.1)).toThrow(ValidationError);
    expect(() => schedule({ type: "step", factor: 2, every: 1 }, 0.1)).toThrow(/'schedule.factor'/);
    expect(() => schedule({ type: "constant" }, 0)).toThrow(/'learningRate'.*current value is 0/);
    expect(() => schedule({ type: "constant" }, NaN)).toThrow(/'learningRate'/);
  });

  it("checks the manual list", () => {
    expect(() => schedule({ type: "manual", rates: [] }, 0.1)).toThrow(/'schedule.rates'/);
    expect(() => schedule({ type: "manual", rates: [[0, 0.1], [0, 0.01]] }, 0.1)).toThrow(
      /'schedule.rates\[1\]\[0\]'.*current value is 0/,
    );
    expect(() => schedule({ type: "manual", rates: [[3, 0.1], [1, 0.01]] }, 0.1)).toThrow(ValidationError);
    expect(() => schedule({ type: "manual", rates: [[0, 0]] }, 0.1)).toThrow(/'schedule.rates\[0\]\[1\]'/);
    expect(() => schedule({ type: "manual", rates: [[-1, 0.1]] }, 0.1)).toThrow(/'schedule.rates\[0\]\[0\]'/);
    expect(() => schedule({ type: "manual", rates: [[0.5, 0.1]] }, 0.1)).toThrow(ValidationError);
    expect(() => schedule({ type: "manual", rates: [[0, 0.1, 3]] } as never, 0.1)).toThrow(/'schedule.rates\[0\]'/);
  });
});
