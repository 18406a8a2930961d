import { describe, expect, test } from "vitest";
import { randomSearch, validateSpace, zoom } from "../../../core/search/mod.ts";
import type { Space } from "../../../core/search/mod.ts";

describe("zoom", () => {
  test("logUniform: margin in log10 units", () => {
    // [1e-5, 10]: log width 6, margin 0.1·6 = 0.6; best 1e-3, 1e-2 → exponents [−3.6, −1.4]
    const z = zoom({ lr: { type: "logUniform", min: 1e-5, max: 10 } }, [{ lr: 1e-3 }, { lr: 1e-2 }]);
    expect(z.lr.type).toBe("logUniform");
    const d = z.lr as { min: number; max: number };
    expect(d.min / 2.51188643150958e-4).toBeCloseTo(1, 12); // 10^−3.6
    expect(d.max / 3.98107170553497e-2).toBeCloseTo(1, 12); // 10^−1.4
  });

  test("oneMinusLog: margin in −log10(1 − β) units", () => {
    // [0.9, 0.999] is t ∈ [1, 3]; margin 0.2; best 0.99 (t = 2) → t ∈ [1.8, 2.2]
    // β ∈ [1 − 10^−1.8, 1 − 10^−2.2] = [1 − 0.0158489319, 1 − 0.0063095734]
    const z = zoom({ b: { type: "oneMinusLog", min: 0.9, max: 0.999 } }, [{ b: 0.99 }]);
    const d = z.b as { type: string; min: number; max: number };
    expect(d.type).toBe("oneMinusLog");
    expect(d.min).toBeCloseTo(0.9841510681, 9);
    expect(d.max).toBeCloseTo(0.9936904266, 9);
  });

  test("uniform: clipped ends keep the original bound exactly", () => {
    // [0, 1], margin 0.1, best 0.9 and 0.95 → [0.8, 1.05] ∩ [0, 1] = [0.8, 1]
    const z = zoom({ u: { type: "uniform", min: 0, max: 1 } }, [{ u: 0.95 }, { u: 0.9 }]);
    expect((z.u as { min: number }).min).toBeCloseTo(0.8, 12);
    expect((z.u as { max: number }).max).toBe(1);
  });

  test("int: rounded outward, linear and log", () => {
    // [32, 512], width 480, margin 48; best 100 and 120 → [52, 168]
    expect(zoom({ k: { type: "int", min: 32, max: 512 } }, [{ k: 100 }, { k: 120 }]).k).toEqual({ type: "int", min: 52, max: 168 });
    // log: margin 0.1·log10(512/32) = 0.4·log10 2; best 128 = 2^7 → [2^6.6, 2^7.4] = [97.006, 168.897] → [97, 169]
    expect(zoom({ k: { type: "int", min: 32, max: 512, log: true } }, [{ k: 128 }]).k).toEqual({
      type: "int", min: 97, max: 169, log: true,
    });
  });

  test("choice: the values seen among the best, in their original order", () => {
    const z = zoom({ c: { type: "choice", values: [0, 1e-4, 1e-3] } }, [{ c: 1e-3 }, { c: 0 }, { c: 1e-3 }]);
    expect(z.c).toEqual({ type: "choice", values: [0, 1e-3] });
    const layers = [{ units: 8 }, { units: 16 }];
    // structural equality: values that went through JSON still match
    const z2 = zoom({ l: { type: "choice", values: layers } }, [{ l: JSON.parse(JSON.stringify(layers[1])) }]);
    expect(z2.l).toEqual({ type: "choice", values: [layers[1]] });
  });

  test("coarse to fine: the zoomed space is valid, narrower, inside the original, and holds the best", () => {
    const space: Space = {
      "optimizer.learningRate": { type: "logUniform", min: 1e-5, max: 10 },
      "optimizer.beta1": { type: "oneMinusLog", min: 0.9, max: 0.999 },
      "model.layers[0].units": { type: "int", min: 32, max: 512, log: true },
      "dataset.augment.shift": { type: "uniform", min: 0, max: 4 },
      "regularization.l2": { type: "choice", values: [0, 1e-4, 1e-3] },
    };
    const trials = randomSearch(space, 40, 11);
    // pretend the best trials are the 4 with the smallest learning rates
    const best = [...trials].sort((a, b) => (a["optimizer.learningRate"] as number) - (b["optimizer.learningRate"] as number)).slice(0, 4);
    let current = space;
    for (let round = 0; round < 3; round++) {
      const next = zoom(current, best, { factor: 0.05 });
      expect(validateSpace(next)).toBe(next);
      for (const path of Object.keys(space)) {
        const before = current[path], after = next[path];
        if (before.type === "choice" || after.type === "choice") continue;
        expect(after.min).toBeGreaterThanOrEqual(before.min);
        expect(after.max).toBeLessThanOrEqual(before.max);
        for (const t of best) {
          expect(t[path] as number).toBeGreaterThanOrEqual(after.min);
          expect(t[path] as number).toBeLessThanOrEqual(after.max);
        }
      }
      const lr = next["optimizer.learningRate"] as { min: number; max: number };
      expect(Math.log10(lr.max / lr.min)).toBeLessThan(6);
      for (const v of randomSearch(next, 50, 12, { round: round + 1 })) {
        const x = v["optimizer.learningRate"] as number;
        expect(x).toBeGreaterThanOrEqual(lr.min);
        expect(x).toBeLessThanOrEqual(lr.max);
      }
      current = next;
    }
  });

  test("validates", () => {
    const space: Space = { u: { type: "uniform", min: 0, max: 1 }, c: { type: "choice", values: ["a", "b"] } };
    expect(() => zoom(space, [])).toThrow(/'bestTrials' must be a non-empty array/);
    expect(() => zoom(space, [{ u: 0.5 }])).toThrow(new TypeError("Cannot zoom the space: 'bestTrials[0]' has no value for 'c'"));
    expect(() => zoom(space, [{ u: 0.5, c: "a" }, { u: 1.5, c: "a" }])).toThrow(
      /'bestTrials\[1\]\["u"\]' must be a number in \[0, 1\], current value is 1.5/,
    );
    expect(() => zoom(space, [{ u: "x", c: "a" }])).toThrow(TypeError);
    expect(() => zoom(space, [{ u: 0.5, c: "z" }])).toThrow(/'bestTrials\[0\]\["c"\]' must be one of the values of 'c', current value is "z"/);
    expect(() => zoom({ k: { type: "int", min: 1, max: 9 } }, [{ k: 2.5 }])).toThrow(/must be an integer in \[1, 9\]/);
    expect(() => zoom(space, [{ u: 0.5, c: "a" }], { factor: 0 })).toThrow(/'factor' must be in \(0, 1\], current value is 0/);
    expect(() => zoom(space, [{ u: 0.5, c: "a" }], { factor: 2 })).toThrow(RangeError);
    expect(() => zoom(space, [null as never])).toThrow(TypeError);
  });
});
