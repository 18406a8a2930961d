import { describe, expect, test } from "vitest";
import { batchIndices, batchOf, epochOrder, miniBatches, stepsPerEpoch } from "../../core/data/batches.ts";
import { Domain, permutation, Rng } from "../../core/random.ts";

const range = (m: number) => Array.from({ length: m }, (_, i) => i);

describe("mini-batches", () => {
  test("steps per epoch: ⌈m / batchSize⌉", () => {
    expect(stepsPerEpoch(10, 3)).toBe(4); // 3 + 3 + 3 + 1
    expect(stepsPerEpoch(10, 1)).toBe(10); // stochastic GD
    expect(stepsPerEpoch(10, 10)).toBe(1); // batch GD
    expect(stepsPerEpoch(10, 64)).toBe(1);
    expect(stepsPerEpoch(12, 4)).toBe(3);
    expect(stepsPerEpoch(0, 4)).toBe(0);
  });

  test("an epoch's order is a seeded permutation of 0..m-1 from Rng(seed, Domain.shuffle, epoch)", () => {
    const a = epochOrder(1000, 42, 3);
    expect([...a].sort((x, y) => x - y)).toEqual(range(1000));
    expect(a).toEqual(permutation(1000, new Rng(42, Domain.shuffle, 3)));
    expect(epochOrder(1000, 42, 3)).toEqual(a);
    expect(epochOrder(1000, 42, 4)).not.toEqual(a);
    expect(epochOrder(1000, 43, 3)).not.toEqual(a);
    expect(epochOrder(0, 1, 0)).toEqual(new Int32Array(0));
  });

  test("batches partition the epoch: every index once, the last batch partial", () => {
    const order = epochOrder(10, 7, 0);
    const batches = miniBatches(order, 3);
    expect(batches.map((b) => b.length)).toEqual([3, 3, 3, 1]);
    expect(batches.flatMap((b) => [...b])).toEqual([...order]);
    expect(batches.flatMap((b) => [...b]).sort((x, y) => x - y)).toEqual(range(10));
    batches.forEach((b, t) => expect(batchOf(order, 3, t)).toEqual(b));
  });

  test("batch size 1 is stochastic GD, batch size m is batch GD", () => {
    const order = epochOrder(7, 1, 2);
    expect(miniBatches(order, 1).map((b) => [...b])).toEqual([...order].map((i) => [i]));
    expect(miniBatches(order, 7).map((b) => [...b])).toEqual([[...order]]);
    expect(miniBatches(order, 100).map((b) => [...b])).toEqual([[...order]]);
  });

  test("batchIndices by global step crosses epochs", () => {
    const m = 10, batchSize = 4, seed = 5; // 3 steps per epoch: 4 + 4 + 2
    const seen: number[][] = [[], [], []];
    for (let step = 0; step < 9; step++) {
      const { epoch, batch, indices } = batchIndices(m, step, { batchSize, seed });
      expect([epoch, batch]).toEqual([Math.floor(step / 3), step % 3]);
      expect(indices).toEqual(epochOrder(m, seed, epoch).slice(batch * 4, Math.min(batch * 4 + 4, m)));
      seen[epoch].push(...indices);
    }
    for (const e of seen) expect(e.sort((x, y) => x - y)).toEqual(range(m));
    // Step 5 = epoch 1, batch 2 (the partial one, 2 examples).
    expect(batchIndices(m, 5, { batchSize, seed }).indices.length).toBe(2);
  });

  test("errors", () => {
    expect(() => stepsPerEpoch(10, 0)).toThrow(
      new RangeError("Cannot count steps: 'batchSize' must be an integer ≥ 1, current value is 0"),
    );
    expect(() => miniBatches(new Int32Array(3), 1.5)).toThrow(RangeError);
    expect(() => batchOf(new Int32Array(10), 3, 4)).toThrow(
      new RangeError("Cannot take a batch: 'batch' must be an integer in [0, 4), current value is 4"),
    );
    expect(() => epochOrder(10, 1, -1)).toThrow(
      new RangeError("Cannot shuffle an epoch: 'epoch' must be an integer in [0, 2^32), current value is -1"),
    );
    expect(() => epochOrder(-1, 1, 0)).toThrow(RangeError);
    expect(() => batchIndices(0, 0, { batchSize: 1, seed: 0 })).toThrow(
      new RangeError("Cannot take a batch: the training set has no examples"),
    );
    expect(() => batchIndices(5, -1, { batchSize: 1, seed: 0 })).toThrow(RangeError);
  });
});
