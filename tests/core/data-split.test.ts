import { ValidationError } from "../../core/validation-error.ts";
import { describe, expect, test } from "vitest";
import type { Dataset } from "../../core/data/dataset.ts";
import {
  autoSplitFractions,
  resolveSplit,
  splitDataset,
  splitIndices,
  splitSizes,
} from "../../core/data/split.ts";
import type { SplitSpec } from "../../core/data/split.ts";

/** A classification dataset whose feature is the example index and whose classes have `counts` members. */
function classed(counts: number[], interleave = false): Dataset {
  const labels: number[] = [];
  counts.forEach((n, c) => labels.push(...new Array<number>(n).fill(c)));
  if (interleave) labels.sort((a, b) => a - b);
  const m = labels.length;
  return {
    name: "toy",
    features: Float32Array.from({ length: m }, (_, i) => i),
    shape: [m, 1],
    labels: { kind: "classes", values: Int32Array.from(labels), classes: counts.map((_, c) => `c${c}`) },
  };
}

function regression(m: number): Dataset {
  return {
    name: "reg",
    features: Float32Array.from({ length: m }, (_, i) => i),
    shape: [m, 1],
    labels: { kind: "targets", values: Float32Array.from({ length: m }, (_, i) => 2 * i), width: 1 },
  };
}

describe("split sizes", () => {
  test("auto rule: 60/20/20 up to 1,000,000 examples, 98/1/1 above", () => {
    expect(autoSplitFractions(1_000_000)).toEqual({ train: 0.6, dev: 0.2, test: 0.2 });
    expect(autoSplitFractions(1_000_001)).toEqual({ train: 0.98, dev: 0.01, test: 0.01 });
    // 999,999 · (0.6, 0.2, 0.2) = (599,999.4, 199,999.8, 199,999.8): floors sum to 999,997, and the 2
    // left over go to the largest remainders (dev and test, .8 > .4).
    expect(splitSizes(999_999)).toEqual({ train: 599_999, dev: 200_000, test: 200_000 });
    // 1,000,001 · (0.98, 0.01, 0.01) = (980,000.98, 10,000.01, 10,000.01): 1 left over, to train (.98).
    expect(splitSizes(1_000_001)).toEqual({ train: 980_001, dev: 10_000, test: 10_000 });
    expect(splitSizes(1_000_000)).toEqual({ train: 600_000, dev: 200_000, test: 200_000 });
    expect(splitSizes(10_000_000)).toEqual({ train: 9_800_000, dev: 100_000, test: 100_000 });
  });

  test("largest remainders, ties in the order train, dev, test", () => {
    expect(splitSizes(10)).toEqual({ train: 6, dev: 2, test: 2 });
    // 5 · (0.5, 0.25, 0.25) = (2.5, 1.25, 1.25) → (2, 1, 1) + 1 to train.
    expect(splitSizes(5, { train: 0.5, dev: 0.25, test: 0.25 })).toEqual({ train: 3, dev: 1, test: 1 });
    // 3 · (1/3, 1/3, 1/3) = (1, 1, 1) up to rounding in 1/3 · 3.
    expect(splitSizes(3, { train: 1 / 3, dev: 1 / 3, test: 1 / 3 })).toEqual({ train: 1, dev: 1, test: 1 });
    // 2 · (0.5, 0.5, 0) ties at .0: no leftovers.
    expect(splitSizes(2, { train: 0.5, dev: 0.5, test: 0 })).toEqual({ train: 1, dev: 1, test: 0 });
    // 1 · (0.6, 0.2, 0.2) → one left over, to the largest remainder, train.
    expect(splitSizes(1)).toEqual({ train: 1, dev: 0, test: 0 });
    expect(splitSizes(0)).toEqual({ train: 0, dev: 0, test: 0 });
    expect(splitSizes(7, { train: 1, dev: 0, test: 0 })).toEqual({ train: 7, dev: 0, test: 0 });
  });

  test("sizes always sum to m and are within 1 of m·f", () => {
    const specs = [{ train: 0.7, dev: 0.15, test: 0.15 }, { train: 0.8, dev: 0.1, test: 0.1 }, "auto" as const];
    for (const spec of specs) {
      for (let m = 0; m < 300; m++) {
        const s = splitSizes(m, spec);
        const f = resolveSplit(spec, m);
        expect(s.train + s.dev + s.test).toBe(m);
        for (const k of ["train", "dev", "test"] as const) expect(Math.abs(s[k] - m * f[k])).toBeLessThan(1);
      }
    }
  });

  test("explicit fractions are validated", () => {
    expect(() => splitSizes(10, { train: 1.5, dev: 0, test: -0.5 })).toThrow(
      new ValidationError("train", "Cannot split: 'train' must be in [0, 1], current value is 1.5"),
    );
    expect(() => splitSizes(10, { train: 0, dev: 0.5, test: 0.5 })).toThrow(
      new ValidationError("train", "Cannot split: 'train' must be in (0, 1], current value is 0"),
    );
    expect(() => splitSizes(10, { train: 0.6, dev: 0.2, test: 0.1 })).toThrow(
      new ValidationError("split", "Cannot split: 'train' + 'dev' + 'test' must be 1, current value is 0.9 (0.6 + 0.2 + 0.1)"),
    );
    // 0.7 + 0.1 + 0.1 is 0.8999999999999999 in float64; the message rounds to 12 digits.
    expect(() => splitSizes(10, { train: 0.7, dev: 0.1, test: 0.1 })).toThrow(
      new ValidationError("split", "Cannot split: 'train' + 'dev' + 'test' must be 1, current value is 0.9 (0.7 + 0.1 + 0.1)"),
    );
    expect(() => splitSizes(10, { train: 0.6, dev: 0.2, test: Number.NaN })).toThrow(
      new ValidationError("test", "Cannot split: 'test' must be in [0, 1], current value is NaN"),
    );
    expect(() => splitSizes(10, { train: 0.6, dev: "0.2", test: 0.2 } as never)).toThrow(
      new ValidationError("dev", `Cannot split: 'dev' must be a number, current value is "0.2"`),
    );
    expect(() => splitSizes(10, { train: 0.6, dev: 0.2, test: 0.2, holdout: 0 } as never)).toThrow(
      new ValidationError("split.holdout", "Cannot split: unknown field 'split.holdout'; the fields are 'train', 'dev' and 'test'"),
    );
    expect(() => splitSizes(10, "60/20/20" as never)).toThrow(ValidationError);
    // Within 1e-9 of 1 is accepted.
    expect(splitSizes(10, { train: 0.7, dev: 0.2, test: 0.1 + 5e-10 })).toEqual({ train: 7, dev: 2, test: 1 });
    // 2 · (0.1, 0.45, 0.45) = (0.2, 0.9, 0.9): the two examples go to dev and test.
    expect(() => splitSizes(2, { train: 0.1, dev: 0.45, test: 0.45 })).toThrow(
      new ValidationError("train", "Cannot split: 'train' = 0.1 of 2 examples leaves the training split empty"),
    );
    expect(() => splitSizes(-1)).toThrow(RangeError);
  });
});

/** Per split and class: |count − n_c·f| < 1, and the split sizes equal splitSizes. */
function checkStratified(d: Dataset, spec: SplitSpec, seed: number): void {
  const y = d.labels.kind === "classes" ? d.labels.values : new Int32Array();
  const k = d.labels.kind === "classes" ? d.labels.classes.length : 0;
  const m = d.shape[0];
  const counts = new Array<number>(k).fill(0);
  for (const c of y) counts[c]++;
  const s = splitIndices(d, { split: spec, seed });
  const f = resolveSplit(spec, m);
  const sizes = splitSizes(m, spec);
  for (const part of ["train", "dev", "test"] as const) {
    expect(s[part].length).toBe(sizes[part]);
    const perClass = new Array<number>(k).fill(0);
    for (const i of s[part]) perClass[y[i]]++;
    counts.forEach((n, c) => expect(Math.abs(perClass[c] - n * f[part])).toBeLessThan(1 + 1e-9));
  }
}

describe("split indices", () => {
  const all = (s: { train: Int32Array; dev: Int32Array; test: Int32Array }) =>
    [...s.train, ...s.dev, ...s.test].sort((a, b) => a - b);

  test("disjoint, covering, ascending, with the sizes of splitSizes", () => {
    for (const [d, spec] of [
      [classed([500, 300, 200]), "auto"],
      [classed([37, 1, 5, 0, 12]), { train: 0.5, dev: 0.3, test: 0.2 }],
      [regression(999), { train: 0.8, dev: 0.1, test: 0.1 }],
    ] as const) {
      const s = splitIndices(d, { split: spec, seed: 7 });
      const m = d.shape[0];
      expect(all(s)).toEqual(Array.from({ length: m }, (_, i) => i));
      const sizes = splitSizes(m, spec);
      expect([s.train.length, s.dev.length, s.test.length]).toEqual([sizes.train, sizes.dev, sizes.test]);
      for (const part of [s.train, s.dev, s.test]) {
        for (let i = 1; i < part.length; i++) expect(part[i]).toBeGreaterThan(part[i - 1]);
      }
    }
  });

  test("seeded: the same seed gives the same split, another seed another", () => {
    const d = classed([400, 600]);
    const a = splitIndices(d, { seed: 1 });
    expect(splitIndices(d, { seed: 1 })).toEqual(a);
    expect(splitIndices(d, { seed: 2 }).train).not.toEqual(a.train);
    expect(splitIndices(regression(100), { seed: 1 })).toEqual(splitIndices(regression(100), { seed: 1 }));
  });

  test("stratified: every class is split in the proportions of the whole", () => {
    // Imbalanced classes, stored sorted by class so an unshuffled cut would put whole classes in one split.
    const counts = [500, 300, 150, 47, 3];
    const d = classed(counts);
    for (const seed of [0, 1, 2, 3, 4]) {
      for (const spec of ["auto", { train: 0.9, dev: 0.05, test: 0.05 }] as const) {
        checkStratified(d, spec, seed);
      }
    }
  });

  test("stratified: many random class counts and fractions", () => {
    // Each class gets ⌊n_c·f⌋ or ⌈n_c·f⌉ in every split, and the sizes are still those of splitSizes.
    const rng = (i: number) => ((i * 2654435761) % 4294967296) / 4294967296; // a fixed, simple sequence
    for (let trial = 0; trial < 200; trial++) {
      const k = 1 + (trial % 13);
      const counts = Array.from({ length: k }, (_, c) => Math.floor(rng(trial * 31 + c) * 40));
      counts[0] += 20; // m ≥ 20, so train (≥ 5%) is never empty
      const train = 0.05 + 0.9 * rng(trial * 7 + 1);
      const dev = (1 - train) * rng(trial * 7 + 2);
      checkStratified(classed(counts), { train, dev, test: 1 - train - dev }, trial);
    }
  });

  test("stratified splits are drawn from the whole range (shuffled), not cut in index order", () => {
    const d = classed([1000]);
    const s = splitIndices(d, { seed: 9 });
    // Under a uniform draw each split reaches near both ends of 0..999.
    for (const part of [s.train, s.dev, s.test]) {
      expect(part[0]).toBeLessThan(50);
      expect(part[part.length - 1]).toBeGreaterThan(950);
    }
  });

  test("unstratified is a plain seeded permutation; regression is never stratified", () => {
    const d = classed([300, 700]);
    const s = splitIndices(d, { seed: 3, stratify: false });
    expect(all(s).length).toBe(1000);
    expect(() => splitIndices(regression(10), { seed: 0, stratify: true })).toThrow(
      new TypeError("Cannot split: 'stratify' needs class labels, and this dataset has regression targets"),
    );
    expect(() => splitIndices(d, { seed: -1 })).toThrow(RangeError);
  });

  test("splitDataset copies the examples of each split", () => {
    const d = classed([6, 4]);
    const idx = splitIndices(d, { seed: 5 });
    const parts = splitDataset(d, { seed: 5 });
    expect(parts.train.name).toBe("toy/train");
    expect(parts.dev.name).toBe("toy/dev");
    expect(parts.test.name).toBe("toy/test");
    for (const k of ["train", "dev", "test"] as const) {
      expect([...parts[k].features]).toEqual([...idx[k]]);
      expect(parts[k].shape).toEqual([idx[k].length, 1]);
      const y = parts[k].labels.kind === "classes" ? [...parts[k].labels.values] : [];
      expect(y).toEqual([...idx[k]].map((i) => (i < 6 ? 0 : 1)));
    }
  });
});
