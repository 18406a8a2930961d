/**
 * edgeprop's Slice kernel for the wasm backend (core/tfjs/wasm-slice.ts): the same values as a
 * plain index-by-index slice (the oracle below) for every rank and for contiguous and strided
 * slices, and no copy of the whole input in JS memory.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { tf, useBackend } from "../../core/tf.ts";
import { Domain, Rng } from "../../core/random.ts";

beforeAll(() => useBackend("wasm"));

/** The slice computed element by element from row-major strides. */
function referenceSlice(data: Float32Array, shape: number[], begin: number[], size: number[]): Float32Array {
  const strides = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
  const out = new Float32Array(size.reduce((a, b) => a * b, 1));
  const index = size.map(() => 0);
  for (let o = 0; o < out.length; o++) {
    out[o] = data[index.reduce((at, i, d) => at + (begin[d] + i) * strides[d], 0)];
    for (let d = size.length - 1; d >= 0; d--) {
      if (++index[d] < size[d]) break;
      index[d] = 0;
    }
  }
  return out;
}

describe("wasm Slice kernel", () => {
  it("equals an element-by-element slice for ranks 1 to 5, contiguous or strided", () => {
    expect(tf.getBackend()).toBe("wasm");
    const rng = new Rng(3, Domain.test);
    const cases: [number[], number[], number[]][] = [
      [[10], [3], [5]],
      [[6, 7], [2, 0], [3, 7]], // whole rows: contiguous
      [[6, 7], [1, 2], [4, 3]],
      [[4, 5, 6], [1, 0, 0], [2, 5, 6]],
      [[4, 5, 6], [1, 2, 1], [3, 2, 4]],
      [[3, 4, 5, 6], [0, 1, 2, 3], [3, 2, 3, 2]],
      [[3, 4, 5, 6], [1, 0, 0, 0], [1, 4, 5, 6]],
      [[2, 3, 4, 5, 6], [0, 1, 1, 2, 1], [2, 2, 3, 2, 4]], // rank 5 strided: the upstream kernel
      [[6, 7], [2, 3], [0, 4]], // empty
    ];
    for (const [shape, begin, size] of cases) {
      const data = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.uniform() - 0.5);
      const x = tf.tensor(data, shape);
      const y = tf.slice(x, begin, size);
      expect(y.shape).toEqual(size);
      expect(Array.from(y.dataSync())).toEqual(Array.from(referenceSlice(data, shape, begin, size)));
      tf.dispose([x, y]);
    }
  });

  it("keeps int32 and bool dtypes", () => {
    const x = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3], "int32");
    const y = tf.slice(x, [0, 1], [2, 2]);
    expect(y.dtype).toBe("int32");
    expect(Array.from(y.dataSync())).toEqual([2, 3, 5, 6]);
    const b = tf.slice(tf.tensor1d([true, false, true], "bool"), [1], [2]);
    expect(b.dtype).toBe("bool");
    expect(Array.from(b.dataSync())).toEqual([0, 1]);
    tf.dispose([x, y, b]);
  });

  it("does not copy the whole input into JS memory (upstream did, for every slice)", () => {
    const x = tf.tensor2d(new Float32Array(1024 * 1024), [1024, 1024]); // 4 MiB
    tf.slice(x, [0, 0], [1024, 32]).dispose(); // the heap has room for the output afterwards
    const before = process.memoryUsage().arrayBuffers;
    const y = tf.slice(x, [0, 0], [1024, 32]);
    const grown = process.memoryUsage().arrayBuffers - before;
    tf.dispose([x, y]);
    expect(grown).toBeLessThan(1024 * 1024);
  });
});
