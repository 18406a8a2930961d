import { describe, expect, test } from "vitest";
import type { Dataset } from "../../core/data/dataset.ts";
import {
  blobs,
  circles,
  moons,
  syntheticDataset,
  syntheticDatasets,
  twoSpirals,
  xor,
} from "../../core/data/synthetic.ts";

function labelsOf(d: Dataset): Int32Array {
  if (d.labels.kind !== "classes") throw new Error("expected class labels");
  return d.labels.values;
}

/** Solves A x = b (Gaussian elimination with partial pivoting, float64). */
function solve(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r][c]) > Math.abs(m[p][c])) p = r;
    [m[c], m[p]] = [m[p], m[c]];
    for (let r = c + 1; r < n; r++) {
      const f = m[r][c] / m[c][c];
      for (let k = c; k <= n; k++) m[r][k] -= f * m[c][k];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = m[r][n];
    for (let k = r + 1; k < n; k++) s -= m[r][k] * x[k];
    x[r] = s / m[r][r];
  }
  return x;
}

/**
 * Training accuracy of binary logistic regression on the feature map `phi` (plus a bias), fitted by
 * Newton's method (IRLS) with a tiny ridge term so that separable data stays finite: an independent,
 * converged fit, so a low accuracy means the model class underfits, not that the optimizer stopped early.
 */
function logisticAccuracy(d: Dataset, phi: (x: number, y: number) => number[]): number {
  const y = labelsOf(d);
  const m = d.shape[0];
  const rows = Array.from({ length: m }, (_, i) => [1, ...phi(d.features[2 * i], d.features[2 * i + 1])]);
  const k = rows[0].length;
  let w = new Array<number>(k).fill(0);
  for (let it = 0; it < 30; it++) {
    const grad = new Array<number>(k).fill(0);
    const hess = Array.from({ length: k }, () => new Array<number>(k).fill(0));
    for (let i = 0; i < m; i++) {
      const z = rows[i].reduce((s, v, j) => s + v * w[j], 0);
      const p = 1 / (1 + Math.exp(-z));
      for (let a = 0; a < k; a++) {
        grad[a] += (p - y[i]) * rows[i][a];
        for (let b = 0; b < k; b++) hess[a][b] += p * (1 - p) * rows[i][a] * rows[i][b];
      }
    }
    for (let a = 0; a < k; a++) {
      grad[a] += 1e-3 * w[a];
      hess[a][a] += 1e-3;
    }
    const step = solve(hess, grad);
    w = w.map((v, j) => v - step[j]);
  }
  let correct = 0;
  for (let i = 0; i < m; i++) {
    const z = rows[i].reduce((s, v, j) => s + v * w[j], 0);
    if ((z > 0 ? 1 : 0) === y[i]) correct++;
  }
  return correct / m;
}

const linear = (x: number, y: number) => [x, y];
const quadratic = (x: number, y: number) => [x, y, x * x, y * y, x * y];

/** Accuracy of 1-nearest-neighbour on the last fifth, with the first four fifths as references. */
function nearestNeighbourAccuracy(d: Dataset): number {
  const y = labelsOf(d);
  const m = d.shape[0];
  const cut = Math.floor(0.8 * m);
  let correct = 0;
  for (let i = cut; i < m; i++) {
    let best = Infinity, label = -1;
    for (let j = 0; j < cut; j++) {
      const dx = d.features[2 * i] - d.features[2 * j], dy = d.features[2 * i + 1] - d.features[2 * j + 1];
      const dist = dx * dx + dy * dy;
      if (dist < best) [best, label] = [dist, y[j]];
    }
    if (label === y[i]) correct++;
  }
  return correct / (m - cut);
}

describe("synthetic datasets", () => {
  const names = Object.keys(syntheticDatasets);

  test("the registry lists every set with its name and a description", () => {
    expect(names).toEqual(["spirals", "circles", "xor", "moons", "blobs"]);
    for (const name of names) {
      expect(syntheticDatasets[name].name).toBe(name);
      expect(syntheticDatasets[name].description.length).toBeGreaterThan(20);
    }
  });

  test.each(names)("%s: shape, balanced interleaved classes, finite features", (name) => {
    const d = syntheticDataset(name, { examples: 301, seed: 3 });
    expect(d.name).toBe(name);
    expect(d.shape).toEqual([301, 2]);
    expect(d.features.length).toBe(602);
    expect(d.features.every(Number.isFinite)).toBe(true);
    const y = labelsOf(d);
    const k = d.labels.kind === "classes" ? d.labels.classes.length : 0;
    y.forEach((c, i) => expect(c).toBe(i % k));
  });

  test.each(names)("%s: the same seed gives the same data, another seed other data", (name) => {
    const a = syntheticDataset(name, { examples: 200, seed: 11 });
    const b = syntheticDataset(name, { examples: 200, seed: 11 });
    const c = syntheticDataset(name, { examples: 200, seed: 12 });
    expect(b.features).toEqual(a.features);
    expect(b.labels).toEqual(a.labels);
    expect(c.features).not.toEqual(a.features);
  });

  test("noise 0 puts the circles exactly on their radii", () => {
    const d = circles({ examples: 100, noise: 0, factor: 0.3 });
    const y = labelsOf(d);
    for (let i = 0; i < 100; i++) {
      const r = Math.hypot(d.features[2 * i], d.features[2 * i + 1]);
      expect(r).toBeCloseTo(y[i] === 0 ? 1 : 0.3, 6);
    }
  });

  test("noise 0 xor: the class is the sign of x·y", () => {
    const d = xor({ examples: 200, noise: 0 });
    const y = labelsOf(d);
    for (let i = 0; i < 200; i++) expect(d.features[2 * i] * d.features[2 * i + 1] < 0 ? 1 : 0).toBe(y[i]);
  });

  test("noise 0 spirals: class 1 is class 0 rotated by π (radius t, angle 3πt)", () => {
    const d = twoSpirals({ examples: 400, noise: 0, turns: 1.5 });
    const y = labelsOf(d);
    for (let i = 0; i < 400; i++) {
      const x = d.features[2 * i], v = d.features[2 * i + 1];
      const t = Math.hypot(x, v);
      const theta = 2 * Math.PI * 1.5 * t + y[i] * Math.PI;
      expect(x).toBeCloseTo(t * Math.cos(theta), 5);
      expect(v).toBeCloseTo(t * Math.sin(theta), 5);
    }
  });

  // Converged logistic regression on the raw coordinates underfits spirals, circles and xor (high bias);
  // a richer model fits them: quadratic features for circles and xor, 1-NN for spirals.
  test("logistic regression underfits spirals, circles and xor; richer models fit them", () => {
    for (const seed of [0, 1]) {
      expect(logisticAccuracy(twoSpirals({ seed }), linear)).toBeLessThan(0.72);
      expect(logisticAccuracy(circles({ seed }), linear)).toBeLessThan(0.62);
      expect(logisticAccuracy(xor({ seed }), linear)).toBeLessThan(0.62);
      expect(logisticAccuracy(circles({ seed }), quadratic)).toBeGreaterThan(0.98);
      expect(logisticAccuracy(xor({ seed }), quadratic)).toBeGreaterThan(0.9);
      expect(nearestNeighbourAccuracy(twoSpirals({ seed }))).toBeGreaterThan(0.95);
      const moonsLinear = logisticAccuracy(moons({ seed }), linear);
      expect(moonsLinear).toBeGreaterThan(0.8);
      expect(moonsLinear).toBeLessThan(0.92);
      expect(nearestNeighbourAccuracy(moons({ seed }))).toBeGreaterThan(0.95);
    }
  });

  test("blobs: K classes around the unit circle", () => {
    const d = blobs({ examples: 4000, classes: 4, noise: 0.1, seed: 5 });
    expect(d.labels.kind === "classes" && d.labels.classes).toEqual(["0", "1", "2", "3"]);
    const y = labelsOf(d);
    for (let c = 0; c < 4; c++) {
      let sx = 0, sy = 0, count = 0;
      for (let i = 0; i < 4000; i++) {
        if (y[i] !== c) continue;
        sx += d.features[2 * i];
        sy += d.features[2 * i + 1];
        count++;
      }
      // Mean of 1,000 points with σ = 0.1: standard error 0.003.
      expect(sx / count).toBeCloseTo(Math.cos((Math.PI * c) / 2), 1);
      expect(sy / count).toBeCloseTo(Math.sin((Math.PI * c) / 2), 1);
    }
  });

  test("options are validated", () => {
    expect(() => twoSpirals({ examples: 0 })).toThrow(
      new RangeError("Cannot create spirals: 'examples' must be an integer in [1, 10000000], current value is 0"),
    );
    expect(() => circles({ noise: -1 })).toThrow(
      new RangeError("Cannot create circles: 'noise' must be a finite number ≥ 0, current value is -1"),
    );
    expect(() => xor({ seed: 1.5 })).toThrow(
      new RangeError("Cannot create xor: 'seed' must be an integer in [0, 2^53), current value is 1.5"),
    );
    expect(() => circles({ factor: 1 })).toThrow(
      new RangeError("Cannot create circles: 'factor' must be in (0, 1), current value is 1"),
    );
    expect(() => twoSpirals({ turns: 0 })).toThrow(RangeError);
    expect(() => blobs({ classes: 1 })).toThrow(
      new RangeError("Cannot create blobs: 'classes' must be an integer in [2, 64], current value is 1"),
    );
    expect(() => syntheticDataset("swissroll")).toThrow(
      new RangeError(
        `Cannot create a synthetic dataset: 'name' must be one of 'spirals', 'circles', 'xor', 'moons', 'blobs', current value is "swissroll"`,
      ),
    );
    expect(() => syntheticDataset("toString")).toThrow(RangeError);
  });
});
