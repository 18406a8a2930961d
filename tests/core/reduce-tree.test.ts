import { describe, expect, it } from "vitest";
import { alignedBlocks, treeReduce } from "../../core/reduce-tree.ts";
import { Domain, Rng } from "../../core/random.ts";

const show = (n: number) => treeReduce(n, (i) => String(i), (a, b) => `(${a}+${b})`);

describe("canonical reduction tree", () => {
  it("pairs aligned blocks", () => {
    expect(show(1)).toBe("0");
    expect(show(4)).toBe("((0+1)+(2+3))");
    expect(show(5)).toBe("(((0+1)+(2+3))+4)");
    expect(show(7)).toBe("(((0+1)+(2+3))+((4+5)+6))");
    expect(() => show(0)).toThrow(RangeError);
  });

  it("splits a range into maximal aligned blocks", () => {
    expect(alignedBlocks(0, 8, 8)).toEqual([{ start: 0, count: 8 }]);
    expect(alignedBlocks(3, 8, 8)).toEqual([{ start: 3, count: 1 }, { start: 4, count: 4 }]);
    expect(alignedBlocks(0, 3, 8)).toEqual([{ start: 0, count: 2 }, { start: 2, count: 1 }]);
    expect(alignedBlocks(4, 7, 7)).toEqual([{ start: 4, count: 3 }]);
    expect(alignedBlocks(0, 5, 5)).toEqual([{ start: 0, count: 5 }]);
    expect(() => alignedBlocks(2, 2, 4)).toThrow(RangeError);
  });

  it("gives the same tree whichever way the chunks are sharded", () => {
    for (let n = 1; n <= 20; n++) {
      const whole = show(n);
      for (let cut = 1; cut < n; cut++) {
        // Two shards [0, cut) and [cut, n): each pre-sums its aligned blocks, in the block's own
        // local tree; the coordinator completes the tree from the block sums.
        const blocks = [...alignedBlocks(0, cut, n), ...alignedBlocks(cut, n, n)];
        const sums = new Map(blocks.map((b) => [b.start, treeReduce(b.count, (i) => String(b.start + i), (x, y) => `(${x}+${y})`)]));
        const complete = (lo: number, span: number): string => {
          if (blocks.some((b) => b.start === lo && b.count === Math.min(span, n - lo))) return sums.get(lo)!;
          const half = span / 2;
          if (lo + half >= n) return complete(lo, half);
          return `(${complete(lo, half)}+${complete(lo + half, half)})`;
        };
        let root = 1;
        while (root < n) root *= 2;
        expect(complete(0, root)).toBe(whole);
      }
    }
  });
});

describe("combineBlocks", () => {
  it("completes the tree from aligned block sums and rejects gaps", async () => {
    const { combineBlocks } = await import("../../core/reduce-tree.ts");
    const n = 7;
    const blocks = [...alignedBlocks(0, 3, n), ...alignedBlocks(3, n, n)].map((b) => ({
      ...b,
      value: treeReduce(b.count, (i) => String(b.start + i), (x, y) => `(${x}+${y})`),
    }));
    expect(combineBlocks(blocks, n, (a, b) => `(${a}+${b})`)).toBe(show(n));
    expect(() => combineBlocks(blocks.slice(1), n, (a, b) => a + b)).toThrow(/chunk 0 of 7 is not covered/);
  });
});

describe("float32 sums", () => {
  it("addInto gives addFloat32's bits in its first argument, and combines a tree of blocks in place", async () => {
    const { addFloat32, addInto, combineBlocks } = await import("../../core/reduce-tree.ts");
    const rng = new Rng(3, Domain.test);
    // Magnitudes far apart, so that float32 rounding decides the low bits.
    const draw = () => Float32Array.from({ length: 1000 }, () => rng.normal() * 10 ** rng.int(8));
    const a = draw(), b = draw();
    const expected = addFloat32(a, b);
    expect(addInto(a, b)).toBe(a);
    expect(new Uint32Array(a.buffer)).toEqual(new Uint32Array(expected.buffer));

    const blocks = alignedBlocks(0, 5, 11).concat(alignedBlocks(5, 11, 11)).map((blk) => ({ ...blk, value: draw() }));
    const pure = combineBlocks(blocks.map((blk) => ({ ...blk, value: blk.value.slice() })), 11, addFloat32);
    const inPlace = combineBlocks(blocks, 11, addInto);
    expect(new Uint32Array(inPlace.buffer)).toEqual(new Uint32Array(pure.buffer));
  });
});

describe("TreeAccumulator", () => {
  it("builds combineBlocks's tree, operand for operand, whatever the sharding and the order the blocks arrive in", async () => {
    const { combineBlocks, TreeAccumulator } = await import("../../core/reduce-tree.ts");
    const rng = new Rng(8, Domain.test);
    const show = (a: string, b: string) => `(${a}+${b})`;
    for (let total = 1; total <= 40; total++) {
      for (let trial = 0; trial < 12; trial++) {
        // Random contiguous shards, each split into its aligned blocks as a worker does.
        const cuts = [0];
        while (cuts[cuts.length - 1] < total) cuts.push(Math.min(total, cuts[cuts.length - 1] + 1 + rng.int(Math.max(1, total >> 1))));
        const blocks = cuts.slice(1).flatMap((end, i) => alignedBlocks(cuts[i], end, total))
          .map((b) => ({ ...b, value: treeReduce(b.count, (k) => String(b.start + k), show) }));
        const expected = combineBlocks(blocks, total, show);
        const acc = new TreeAccumulator<string>(total, show);
        for (let i = blocks.length - 1; i > 0; i--) {
          const j = rng.int(i + 1);
          [blocks[i], blocks[j]] = [blocks[j], blocks[i]];
        }
        for (const b of blocks) acc.add(b.start, b.count, b.value);
        expect(acc.result()).toBe(expected);
      }
    }
  });

  it("rejects blocks that are not tree nodes, twice-added chunks, extra blocks and an incomplete tree", async () => {
    const { TreeAccumulator } = await import("../../core/reduce-tree.ts");
    const acc = new TreeAccumulator<number>(6, (a, b) => a + b);
    expect(() => acc.add(1, 2, 0)).toThrow(/\[1, 3\) is not a node of the tree over 6 chunks/);
    expect(() => acc.add(4, 3, 0)).toThrow(/is not a node/);
    acc.add(0, 1, 1);
    expect(() => acc.add(0, 1, 1)).toThrow(/added twice/);
    expect(() => acc.result()).toThrow(/do not cover the 6 chunks/);
    acc.add(1, 1, 2);
    acc.add(2, 2, 3);
    acc.add(4, 2, 4);
    expect(acc.result()).toBe(10);
    expect(() => acc.add(4, 2, 4)).toThrow(/is complete/);
  });
});
