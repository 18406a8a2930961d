import { beforeAll, describe, expect, it } from "vitest";
import { useBackend } from "../../core/tf.ts";
import { type ChunkMoments, concatChunkMoments, mergeChunkMoments, updateRunningStats } from "../../core/model/batch-norm.ts";
import { computeGradients } from "../../core/model/engine.ts";
import { initBatchNormState, initParameters } from "../../core/model/parameters.ts";
import { parseModelSpec, planModel } from "../../core/model/spec.ts";
import { Domain, Rng } from "../../core/random.ts";
import { randomBatch } from "../helpers/batches.ts";

beforeAll(() => useBackend("wasm"));

/** Float64 moments of rows [a, b) of column u of a row-major matrix. */
function direct(x: ArrayLike<number>, cols: number, a: number, b: number, u: number) {
  let mean = 0;
  for (let r = a; r < b; r++) mean += x[r * cols + u];
  mean /= b - a;
  let m2 = 0;
  for (let r = a; r < b; r++) m2 += (x[r * cols + u] - mean) ** 2;
  return { mean, m2 };
}

describe("batch-norm statistics", () => {
  it("reports each chunk's count, mean and M2 = Σ(z − μ)²", async () => {
    // Batch norm on the inputs themselves: its chunk moments are moments of the data.
    const plan = planModel(parseModelSpec({ input: [3], layers: [{ type: "batchnorm" }, { type: "dense", units: 2 }], output: "softmax" }));
    const batch = randomBatch(plan, 20, 6);
    const r = await computeGradients(plan, initParameters(plan, 1), batch, { step: 0, seed: 0, chunkSize: 8 });
    const bn = r.batchNorm.batchnorm0;
    expect([...bn.count]).toEqual([8, 8, 4]);
    const bounds = [[0, 8], [8, 16], [16, 20]];
    bounds.forEach(([a, b], c) => {
      for (let u = 0; u < 3; u++) {
        const d = direct(batch.inputs, 3, a, b, u);
        expect(bn.mean[c * 3 + u]).toBeCloseTo(d.mean, 6);
        expect(Math.abs(bn.m2[c * 3 + u] - d.m2) / d.m2).toBeLessThan(1e-5);
      }
    });
  });

  it("merges chunk moments exactly into the moments of the whole batch", () => {
    const rng = new Rng(3, Domain.test);
    const sizes = [5, 1, 7, 3, 8];
    const units = 4;
    const rows = sizes.reduce((a, b) => a + b, 0);
    const x = Float64Array.from({ length: rows * units }, () => 10 + 3 * rng.normal());
    const parts: ChunkMoments[] = [];
    let r0 = 0;
    for (const n of sizes) {
      const mean = new Float32Array(units), m2 = new Float32Array(units);
      for (let u = 0; u < units; u++) {
        const d = direct(x, units, r0, r0 + n, u);
        mean[u] = d.mean;
        m2[u] = d.m2;
      }
      parts.push({ count: Int32Array.from([n]), mean, m2 });
      r0 += n;
    }
    const merged = mergeChunkMoments(concatChunkMoments(parts));
    expect(merged.count).toBe(rows);
    for (let u = 0; u < units; u++) {
      const d = direct(x, units, 0, rows, u);
      // Chunk moments were rounded to float32; the merge itself adds no error beyond that.
      expect(Math.abs(merged.mean[u] - d.mean) / Math.abs(d.mean)).toBeLessThan(1e-6);
      expect(Math.abs(merged.m2[u] - d.m2) / d.m2).toBeLessThan(1e-6);
    }
  });

  it("updates running statistics with the biased batch variance (hand-derived)", () => {
    const plan = planModel(parseModelSpec({ input: [1], layers: [{ type: "batchnorm", momentum: 0.9 }, { type: "dense", units: 2 }], output: "softmax" }));
    // Chunks {1, 3} and {5}: moments (2, μ=2, M2=2) and (1, μ=5, M2=0).
    // Whole batch {1, 3, 5}: μ = 3, σ² = ((1−3)² + 0 + (5−3)²)/3 = 8/3 (biased, the course's convention).
    // From mean 0, variance 1: mean = 0.9·0 + 0.1·3 = 0.3; variance = 0.9·1 + 0.1·8/3 = 1.1666667.
    const chunks = { count: Int32Array.from([2, 1]), mean: Float32Array.from([2, 5]), m2: Float32Array.from([2, 0]) };
    const state = initBatchNormState(plan);
    const next = updateRunningStats(plan, state, { batchnorm0: chunks });
    expect(next["batchnorm0.mean"][0]).toBeCloseTo(0.3, 6);
    expect(next["batchnorm0.variance"][0]).toBeCloseTo(0.9 + 0.1 * (8 / 3), 6);
    // Pure: the old state is unchanged.
    expect(state["batchnorm0.mean"][0]).toBe(0);
    expect(() => updateRunningStats(plan, state, {})).toThrow(/no chunk moments for 'batchnorm0'/);
  });
});
