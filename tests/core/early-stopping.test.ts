import { describe, expect, test } from "vitest";
import type { EarlyStoppingState } from "../../core/early-stopping.ts";
import { earlyStopping, observe } from "../../core/early-stopping.ts";

function run<T>(state: EarlyStoppingState<T>, values: readonly number[]): EarlyStoppingState<T>[] {
  const states: EarlyStoppingState<T>[] = [];
  values.forEach((v, epoch) => {
    state = observe(state, epoch, v);
    states.push(state);
  });
  return states;
}

describe("earlyStopping options", () => {
  test("defaults: min for losses and errors, max for accuracy; patience 3, minDelta 0", () => {
    const s = earlyStopping({ metric: "devLoss" });
    expect(s).toEqual({
      metric: "devLoss", mode: "min", patience: 3, minDelta: 0,
      best: null, bestEpoch: null, wait: 0, stop: false, lastEpoch: null,
    });
    expect(earlyStopping({ metric: "devError" }).mode).toBe("min");
    expect(earlyStopping({ metric: "devAccuracy" }).mode).toBe("max");
    expect(earlyStopping({ metric: "devAccuracy", mode: "min" }).mode).toBe("min");
  });

  test("validates", () => {
    expect(() => earlyStopping({ metric: "" })).toThrow(TypeError);
    expect(() => earlyStopping({ metric: "devLoss", mode: "down" as never })).toThrow(
      /'mode' must be "min" or "max", current value is "down"/,
    );
    expect(() => earlyStopping({ metric: "devLoss", patience: -1 })).toThrow(
      new RangeError("Cannot create early stopping: 'patience' must be an integer >= 0, current value is -1"),
    );
    expect(() => earlyStopping({ metric: "devLoss", patience: 1.5 })).toThrow(RangeError);
    expect(() => earlyStopping({ metric: "devLoss", minDelta: -0.1 })).toThrow(/'minDelta' must be a finite number >= 0/);
    expect(() => earlyStopping(undefined as never)).toThrow(TypeError);
  });
});

describe("observe", () => {
  test("min mode with patience 2 and minDelta 0.02, traced by hand", () => {
    // epoch 0: 1.00 first value → best 1.00 @0
    // epoch 1: 0.80 < 1.00 − 0.02 → best 0.80 @1, wait 0
    // epoch 2: 0.85 → wait 1
    // epoch 3: 0.79, not < 0.80 − 0.02 = 0.78 → wait 2 ≥ patience → stop
    // epoch 4: 0.90 → wait 3, still stopped
    // epoch 5: 0.70 < 0.78 → best 0.70 @5, wait 0, stop stays true
    const states = run(earlyStopping({ metric: "devLoss", patience: 2, minDelta: 0.02 }), [1, 0.8, 0.85, 0.79, 0.9, 0.7]);
    expect(states.map((s) => [s.best, s.bestEpoch, s.wait, s.stop])).toEqual([
      [1, 0, 0, false],
      [0.8, 1, 0, false],
      [0.8, 1, 1, false],
      [0.8, 1, 2, true],
      [0.8, 1, 3, true],
      [0.7, 5, 0, true],
    ]);
  });

  test("without minDelta any decrease is an improvement", () => {
    const states = run(earlyStopping({ metric: "devLoss", patience: 2 }), [1, 0.8, 0.85, 0.79]);
    expect(states[3].bestEpoch).toBe(3);
    expect(states[3].wait).toBe(0);
  });

  test("max mode", () => {
    const states = run(earlyStopping({ metric: "devAccuracy", patience: 1 }), [0.5, 0.7, 0.7, 0.9]);
    // 0.7 again is not > 0.7: wait 1 ≥ 1 → stop at epoch 2
    expect(states.map((s) => [s.best, s.bestEpoch, s.stop])).toEqual([
      [0.5, 0, false], [0.7, 1, false], [0.7, 1, true], [0.9, 3, true],
    ]);
  });

  test("patience 0 stops at the first epoch without improvement", () => {
    const states = run(earlyStopping({ metric: "devLoss", patience: 0 }), [1, 0.9, 0.95]);
    expect(states.map((s) => s.stop)).toEqual([false, false, true]);
  });

  test("NaN and infinite values never improve", () => {
    const states = run(earlyStopping({ metric: "devLoss", patience: 2 }), [NaN, 0.5, Infinity, NaN]);
    expect(states.map((s) => [s.best, s.bestEpoch, s.wait, s.stop])).toEqual([
      [null, null, 1, false], [0.5, 1, 0, false], [0.5, 1, 1, false], [0.5, 1, 2, true],
    ]);
  });

  test("keeps the best parameters by reference, and never the parameters of another epoch", () => {
    const p0 = { w: new Float32Array([1]) }, p1 = { w: new Float32Array([2]) }, p2 = { w: new Float32Array([3]) };
    let s = earlyStopping<typeof p0>({ metric: "devLoss" });
    s = observe(s, 0, 1.0, p0);
    expect(s.bestParams).toBe(p0);
    s = observe(s, 1, 0.5, p1);
    expect(s.bestParams).toBe(p1);
    s = observe(s, 2, 0.7, p2);
    expect(s.bestParams).toBe(p1);
    expect(s.bestEpoch).toBe(1);
    s = observe(s, 3, 0.1);
    expect(s.bestParams).toBeUndefined();
  });

  test("is pure: the previous state is unchanged", () => {
    const s0 = earlyStopping({ metric: "devLoss" });
    const copy = { ...s0 };
    const s1 = observe(s0, 0, 1);
    expect(s0).toEqual(copy);
    expect(s1).not.toBe(s0);
  });

  test("epochs must be integers that increase", () => {
    const s = observe(earlyStopping({ metric: "devLoss" }), 3, 1);
    expect(() => observe(s, 3, 0.5)).toThrow(
      new RangeError(
        "Cannot observe 'devLoss' for early stopping: 'epoch' must be greater than the last epoch observed (3), current value is 3",
      ),
    );
    expect(() => observe(s, 4.5, 0.5)).toThrow(/'epoch' must be an integer >= 0, current value is 4.5/);
    expect(() => observe(s, 5, "0.5" as never)).toThrow(TypeError);
    // epochs may skip (evaluation every other epoch)
    expect(observe(s, 7, 0.5).bestEpoch).toBe(7);
  });
});
