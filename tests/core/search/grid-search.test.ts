import { ValidationError } from "../../../core/validation-error.ts";
import { describe, expect, test } from "vitest";
import { gridSearch, gridValues } from "../../../core/search/mod.ts";

describe("gridValues", () => {
  test("uniform: evenly spaced, ends included, tidy decimals", () => {
    expect(gridValues({ type: "uniform", min: 0, max: 1 }, 5)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    // 0.3·1/3 is 0.09999999999999999 in float64; the grid says 0.1
    expect(gridValues({ type: "uniform", min: 0, max: 0.3 }, 4)).toEqual([0, 0.1, 0.2, 0.3]);
  });

  test("logUniform: one point per decade for [1e-4, 1] with 5 points", () => {
    expect(gridValues({ type: "logUniform", min: 1e-4, max: 1 }, 5)).toEqual([1e-4, 1e-3, 1e-2, 0.1, 1]);
    // [1e-5, 10] with 4 points: exponents −5, −3, −1, 1
    expect(gridValues({ type: "logUniform", min: 1e-5, max: 10 }, 4)).toEqual([1e-5, 1e-3, 0.1, 10]);
  });

  test("oneMinusLog: 1 − β evenly spaced on a log scale", () => {
    expect(gridValues({ type: "oneMinusLog", min: 0.9, max: 0.999 }, 3)).toEqual([0.9, 0.99, 0.999]);
    expect(gridValues({ type: "oneMinusLog", min: 0, max: 0.999 }, 4)).toEqual([0, 0.9, 0.99, 0.999]);
  });

  test("int: rounded and deduplicated; log spacing doubles", () => {
    expect(gridValues({ type: "int", min: 32, max: 512, log: true }, 5)).toEqual([32, 64, 128, 256, 512]);
    expect(gridValues({ type: "int", min: 32, max: 512 }, 5)).toEqual([32, 152, 272, 392, 512]);
    // 1, 1.5 → 2, 2, 2.5 → 3, 3
    expect(gridValues({ type: "int", min: 1, max: 3 }, 5)).toEqual([1, 2, 3]);
    expect(gridValues({ type: "int", min: 4, max: 4 }, 3)).toEqual([4]);
  });

  test("choice: all values whatever the number of points", () => {
    expect(gridValues({ type: "choice", values: [0, 1e-4, 1e-3] }, 2)).toEqual([0, 1e-4, 1e-3]);
  });
});

describe("gridSearch", () => {
  test("Cartesian product in key order, first dimension slowest", () => {
    const grid = gridSearch(
      { a: { type: "uniform", min: 0, max: 1 }, b: { type: "choice", values: ["x", "y"] } },
      3,
    );
    expect(grid).toEqual([
      { a: 0, b: "x" }, { a: 0, b: "y" },
      { a: 0.5, b: "x" }, { a: 0.5, b: "y" },
      { a: 1, b: "x" }, { a: 1, b: "y" },
    ]);
  });

  test("size is the product of per-dimension counts", () => {
    const grid = gridSearch({
      "optimizer.learningRate": { type: "logUniform", min: 1e-4, max: 1 },
      "model.layers[0].units": { type: "int", min: 1, max: 3 },
      "regularization.l2": { type: "choice", values: [0, 1e-4, 1e-3] },
    }, 5);
    expect(grid.length).toBe(5 * 3 * 3);
    expect(new Set(grid.map((v) => JSON.stringify(v))).size).toBe(45);
  });

  test("validates", () => {
    const space = { a: { type: "uniform", min: 0, max: 1 } } as const;
    expect(() => gridSearch(space, 1)).toThrow(
      /'pointsPerDimension' must be an integer in \[2, 100000\], current value is 1/,
    );
    expect(() => gridSearch(space, 2.5)).toThrow(ValidationError);
    expect(() =>
      gridSearch({ a: { type: "uniform", min: 0, max: 1 }, b: { type: "uniform", min: 0, max: 1 }, c: { type: "uniform", min: 0, max: 1 } }, 50)
    ).toThrow(/the grid has 125000 points \(50 × 50 × 50\), more than 100000/);
    expect(() => gridSearch({ a: { type: "int", min: 2, max: 1 } }, 2)).toThrow("'a.max' must be >= 'a.min' (2)");
  });
});
