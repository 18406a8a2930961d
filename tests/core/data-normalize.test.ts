import { describe, expect, test } from "vitest";
import type { Dataset } from "../../core/data/dataset.ts";
import {
  applyNormalization,
  fitNormalization,
  normalizeFeatures,
} from "../../core/data/normalize.ts";
import { splitDataset } from "../../core/data/split.ts";

function rows(values: number[][]): Dataset {
  const m = values.length, n = values[0].length;
  return {
    name: "t",
    features: Float32Array.from(values.flat()),
    shape: [m, n],
    labels: { kind: "classes", values: new Int32Array(m), classes: ["a"] },
  };
}

describe("standardize", () => {
  test("hand-derived mean and std; a constant feature gets std 1", () => {
    // Column 0: 1, 3, 5, 7 → mean 4, deviations −3, −1, 1, 3, squares 9 + 1 + 1 + 9 = 20,
    // population variance 20/4 = 5, std √5. Column 1 is constant 10: std 0 → stored as 1.
    const stats = fitNormalization(rows([[1, 10], [3, 10], [5, 10], [7, 10]]), "standardize");
    expect(stats.kind).toBe("standardize");
    if (stats.kind !== "standardize") return;
    expect([...stats.mean]).toEqual([4, 10]);
    expect([...stats.std]).toEqual([Math.fround(Math.sqrt(5)), 1]);
    const out = applyNormalization(rows([[1, 10], [7, 12]]), stats);
    const s5 = Math.fround(Math.sqrt(5));
    expect([...out.features]).toEqual([(1 - 4) / s5, 0, (7 - 4) / s5, 2].map(Math.fround));
  });

  test("float64 two-pass statistics where float32 or E[x²] − E[x]² would fail", () => {
    // float32 spacing at 1e8 is 8: 1e8, 1e8 + 8, 1e8 + 16 are exact. Mean 1e8 + 8, deviations −8, 0, 8,
    // variance (64 + 0 + 64)/3 = 128/3, std √(128/3) ≈ 6.5320. E[x²] − E[x]² in float64 keeps only a digit or two (x² ≈ 1e16, spacing 2).
    const stats = fitNormalization(rows([[1e8], [1e8 + 8], [1e8 + 16]]), "standardize");
    if (stats.kind !== "standardize") throw new Error("kind");
    expect(stats.mean[0]).toBe(1e8 + 8);
    expect(stats.std[0]).toBe(Math.fround(Math.sqrt(128 / 3)));
  });

  test("statistics come from the training split only", () => {
    // Features: the example index, plus a huge outlier in the examples that do not land in train.
    const m = 100;
    const base = rows(Array.from({ length: m }, (_, i) => [i, i % 2]));
    const { train, dev, test: testSplit } = splitDataset(base, { seed: 4 });
    const stats = fitNormalization(train, "standardize");
    if (stats.kind !== "standardize") throw new Error("kind");
    // Oracle: float64 mean/std over the training rows.
    const xs = [...train.features].filter((_, k) => k % 2 === 0);
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const std = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
    expect(stats.mean[0]).toBe(Math.fround(mean));
    expect(stats.std[0]).toBe(Math.fround(std));
    // The full data's mean differs (49.5), so dev and test were not used.
    expect(Math.abs(stats.mean[0] - 49.5)).toBeGreaterThan(1e-6);
    // Changing the dev and test data does not change what was fitted on train.
    dev.features.fill(1e6);
    testSplit.features.fill(-1e6);
    expect(fitNormalization(train, "standardize")).toEqual(stats);
    // After standardization the training features have mean 0 and std 1 (float32 rounding aside).
    const z = applyNormalization(train, stats).features.filter((_, k) => k % 2 === 0);
    const zMean = z.reduce((a, b) => a + b, 0) / z.length;
    const zStd = Math.sqrt(z.reduce((a, b) => a + (b - zMean) ** 2, 0) / z.length);
    expect(Math.abs(zMean)).toBeLessThan(1e-6);
    expect(Math.abs(zStd - 1)).toBeLessThan(1e-6);
  });
});

describe("min-max", () => {
  test("hand-derived min and range; other splits are not clipped", () => {
    // 2, 4, 8 → min 2, range 6: (2, 4, 8) ↦ (0, 1/3, 1); a dev value 14 ↦ 2, −1 ↦ −0.5.
    const stats = fitNormalization(rows([[2, 5], [4, 5], [8, 5]]), "minmax");
    expect(stats).toEqual({ kind: "minmax", min: new Float32Array([2, 5]), range: new Float32Array([6, 1]) });
    expect([...applyNormalization(rows([[2, 5], [4, 5], [8, 5]]), stats).features]).toEqual(
      [0, 0, 1 / 3, 0, 1, 0].map(Math.fround),
    );
    expect([...applyNormalization(rows([[14, 6], [-1, 5]]), stats).features]).toEqual([2, 1, -0.5, 0]);
  });
});

describe("applying and validating", () => {
  test("normalizeFeatures works on any number of rows and in place", () => {
    const stats = fitNormalization(rows([[0, 1], [2, 3]]), "standardize");
    // mean (1, 2), std (1, 1).
    const x = new Float32Array([1, 2, 3, 4, 5, 6]);
    expect(normalizeFeatures(x, stats)).toEqual(new Float32Array([0, 0, 2, 2, 4, 4]));
    expect(normalizeFeatures(x, stats, x)).toBe(x);
    expect(x).toEqual(new Float32Array([0, 0, 2, 2, 4, 4]));
  });

  test("applyNormalization returns a new dataset and leaves its input alone", () => {
    const d = rows([[1], [3]]);
    const out = applyNormalization(d, fitNormalization(d, "minmax"));
    expect([...d.features]).toEqual([1, 3]);
    expect([...out.features]).toEqual([0, 1]);
    expect(out.labels).toBe(d.labels);
  });

  test("statistics are plain, serializable Float32Arrays", () => {
    const stats = fitNormalization(rows([[1, 2], [3, 4]]), "standardize");
    expect(Object.keys(stats).sort()).toEqual(["kind", "mean", "std"]);
    expect(structuredClone(stats)).toEqual(stats);
  });

  test("errors", () => {
    const d = rows([[1, 2], [3, 4]]);
    expect(() => fitNormalization(d, "zscore" as never)).toThrow(
      new RangeError(`Cannot fit normalization: 'kind' must be "standardize" or "minmax", current value is "zscore"`),
    );
    expect(() => fitNormalization({ ...d, features: new Float32Array(0), shape: [0, 2] }, "minmax")).toThrow(
      new RangeError("Cannot fit normalization: the training set has no examples"),
    );
    expect(() => fitNormalization(rows([[1, Number.NaN]]), "standardize")).toThrow(
      new RangeError("Cannot fit normalization: feature 1 has a non-finite value (mean NaN)"),
    );
    expect(() => fitNormalization(rows([[Infinity]]), "minmax")).toThrow(RangeError);
    const stats = fitNormalization(d, "standardize");
    expect(() => applyNormalization(rows([[1, 2, 3]]), stats)).toThrow(
      new TypeError("Cannot normalize 't': it must have 2 features (the fitted width), current value is 3"),
    );
    expect(() => normalizeFeatures(new Float32Array(3), stats)).toThrow(TypeError);
    expect(() => normalizeFeatures(new Float32Array(4), stats, new Float32Array(2))).toThrow(TypeError);
  });
});
