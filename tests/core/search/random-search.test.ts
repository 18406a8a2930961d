import { describe, expect, test } from "vitest";
import { randomSearch } from "../../../core/search/mod.ts";
import type { Space } from "../../../core/search/mod.ts";

/** |observed − n·p| ≤ 4 binomial standard deviations √(n·p·(1 − p)). */
function expectBinomial(observed: number, n: number, p: number): void {
  const sigma = Math.sqrt(n * p * (1 - p));
  expect(Math.abs(observed - n * p)).toBeLessThanOrEqual(4 * sigma);
}

function column(space: Space, path: string, trials: number, seed = 1): number[] {
  return randomSearch(space, trials, seed).map((v) => v[path] as number);
}

describe("randomSearch: distributions", () => {
  test("logUniform [1e-4, 1]: each decade gets 1/4 of 4,000 samples (±4σ = ±109.5)", () => {
    const xs = column({ lr: { type: "logUniform", min: 1e-4, max: 1 } }, "lr", 4000);
    for (const x of xs) {
      expect(x).toBeGreaterThanOrEqual(1e-4);
      expect(x).toBeLessThanOrEqual(1);
    }
    for (const [lo, hi] of [[1e-4, 1e-3], [1e-3, 1e-2], [1e-2, 1e-1], [1e-1, 1.0000001]]) {
      expectBinomial(xs.filter((x) => x >= lo && x < hi).length, 4000, 0.25);
    }
  });

  test("oneMinusLog [0.9, 0.999]: as many samples in 0.9–0.99 as in 0.99–0.999 (±4σ = ±126.5)", () => {
    // 1 − β is log-uniform in [0.001, 0.1]: two decades, 1/2 each. (Uniform β would put only 10%
    // in 0.99–0.999.)
    const xs = column({ b: { type: "oneMinusLog", min: 0.9, max: 0.999 } }, "b", 4000);
    for (const x of xs) {
      expect(x).toBeGreaterThanOrEqual(0.9);
      expect(x).toBeLessThanOrEqual(0.999);
    }
    expectBinomial(xs.filter((x) => x < 0.99).length, 4000, 0.5);
    // finer: 1 − β in each third of the two decades has probability 1/3
    const t = xs.map((x) => -Math.log10(1 - x)); // uniform in [1, 3]
    expectBinomial(t.filter((v) => v < 1 + 2 / 3).length, 4000, 1 / 3);
  });

  test("uniform [-2, 6]: each quarter gets 1/4, mean 2 within 4σ (σ = 8/√(12·4000))", () => {
    const xs = column({ u: { type: "uniform", min: -2, max: 6 } }, "u", 4000);
    for (let q = 0; q < 4; q++) expectBinomial(xs.filter((x) => x >= -2 + 2 * q && x < 2 * q).length, 4000, 0.25);
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(Math.abs(mean - 2)).toBeLessThanOrEqual(4 * (8 / Math.sqrt(12 * 4000)));
  });

  test("int [1, 6]: inclusive, each value 1/6 of 6,000 (±4σ = ±115.5)", () => {
    const xs = column({ k: { type: "int", min: 1, max: 6 } }, "k", 6000);
    for (let k = 1; k <= 6; k++) expectBinomial(xs.filter((x) => x === k).length, 6000, 1 / 6);
    expect(xs.every((x) => Number.isInteger(x) && x >= 1 && x <= 6)).toBe(true);
  });

  test("int [1, 3] with log: P(k) = log((k + ½)/(k − ½)) / log(7)", () => {
    // ln 3/ln 7 = 0.5646, ln(5/3)/ln 7 = 0.2625, ln(7/5)/ln 7 = 0.1729 (they sum to ln 7 / ln 7 = 1)
    const xs = column({ k: { type: "int", min: 1, max: 3, log: true } }, "k", 4000);
    const p = [Math.log(3), Math.log(5 / 3), Math.log(7 / 5)].map((v) => v / Math.log(7));
    for (let k = 1; k <= 3; k++) expectBinomial(xs.filter((x) => x === k).length, 4000, p[k - 1]);
  });

  test("int with log reaches both ends and stays integral", () => {
    const xs = column({ k: { type: "int", min: 32, max: 512, log: true } }, "k", 2000);
    expect(xs.every((x) => Number.isInteger(x) && x >= 32 && x <= 512)).toBe(true);
    expect(Math.min(...xs)).toBe(32);
    expect(Math.max(...xs)).toBe(512);
  });

  test("choice: each value 1/3 of 3,000 (±4σ = ±103.3), returned as given", () => {
    const layer = { type: "dense", units: 8 };
    const vs = randomSearch({ c: { type: "choice", values: ["a", 2, layer] } }, 3000, 5).map((v) => v.c);
    expectBinomial(vs.filter((v) => v === "a").length, 3000, 1 / 3);
    expectBinomial(vs.filter((v) => v === 2).length, 3000, 1 / 3);
    expectBinomial(vs.filter((v) => v === layer).length, 3000, 1 / 3);
  });
});

describe("randomSearch: determinism", () => {
  const space: Space = {
    "optimizer.learningRate": { type: "logUniform", min: 1e-5, max: 10 },
    "optimizer.beta1": { type: "oneMinusLog", min: 0.9, max: 0.999 },
    "model.layers[0].units": { type: "int", min: 32, max: 512 },
    "regularization.l2": { type: "choice", values: [0, 1e-4, 1e-3] },
  };

  test("same seed, same trials; another seed or round, other trials", () => {
    const a = randomSearch(space, 16, 7);
    expect(randomSearch(space, 16, 7)).toEqual(a);
    expect(randomSearch(space, 16, 8)).not.toEqual(a);
    expect(randomSearch(space, 16, 7, { round: 1 })).not.toEqual(a);
    expect(Object.keys(a[0])).toEqual(Object.keys(space));
    expect(new Set(a.map((v) => v["optimizer.learningRate"])).size).toBe(16);
  });

  test("a longer search extends a shorter one", () => {
    expect(randomSearch(space, 20, 7).slice(0, 16)).toEqual(randomSearch(space, 16, 7));
  });

  test("the key order of the space does not change the values", () => {
    const reversed = Object.fromEntries(Object.entries(space).reverse()) as Space;
    const a = randomSearch(space, 8, 3);
    const b = randomSearch(reversed, 8, 3);
    expect(b.map((v) => ({ ...v }))).toEqual(a);
    expect(Object.keys(b[0])).toEqual(Object.keys(reversed));
  });

  test("validates", () => {
    expect(() => randomSearch(space, 0, 1)).toThrow(/'trials' must be an integer in \[1, 1000000\], current value is 0/);
    expect(() => randomSearch(space, 2.5, 1)).toThrow(RangeError);
    expect(() => randomSearch(space, 2, -1)).toThrow(/'seed' must be an integer in \[0, 2\^53\), current value is -1/);
    expect(() => randomSearch(space, 2, 1, { round: 65536 })).toThrow(/'round' must be an integer in \[0, 65536\)/);
    expect(() => randomSearch({ p: { type: "logUniform", min: 0, max: 1 } }, 2, 1)).toThrow(
      "'p.min' must be > 0 for logUniform",
    );
  });
});
