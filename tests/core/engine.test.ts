import { beforeAll, describe, expect, it } from "vitest";
import { tf, useBackend } from "../../core/tf.ts";
import { computeGradients, evaluate } from "../../core/model/engine.ts";
import { compareWithCost, gradientCheck } from "../../core/model/gradient-check.ts";
import { initBatchNormState, initParameters, type NamedArrays } from "../../core/model/parameters.ts";
import { referenceCost } from "../../core/model/reference.ts";
import { parseModelSpec, planModel, type ModelPlan } from "../../core/model/spec.ts";
import { randomBatch, sliceBatch } from "../helpers/batches.ts";

beforeAll(() => useBackend("wasm"));

const plan = (model: unknown) => planModel(parseModelSpec(model));
const close = (actual: ArrayLike<number>, expected: number[], tol = 1e-6) => {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i] - expected[i]), `index ${i}`).toBeLessThan(tol);
};

describe("losses and gradients by hand", () => {
  it("softmax cross-entropy: L = log(e^1 + e^2) − 2, dZ = ŷ − y", async () => {
    const p = plan({ input: [2], layers: [{ type: "dense", units: 2 }], output: "softmax" });
    const params = { "dense0.W": Float32Array.from([1, 0, 0, 1]), "dense0.b": new Float32Array(2) };
    // x = [1, 2] → z = [1, 2], y = 1: L = log(1 + e^−1) = 0.31326169; ŷ = [0.26894142, 0.73105858]
    // dZ = ŷ − y = [0.26894142, −0.26894142]; dW = xᵀ·dZ; db = dZ.
    const r = await computeGradients(p, params, { inputs: Float32Array.from([1, 2]), labels: Int32Array.from([1]), indices: [0] }, { step: 0, seed: 0, chunkSize: 1 });
    expect(r.lossSum).toBeCloseTo(0.31326169, 6);
    expect(r.correct).toBe(1);
    close(r.gradients!["dense0.W"], [0.26894142, -0.26894142, 0.53788284, -0.53788284]);
    close(r.gradients!["dense0.b"], [0.26894142, -0.26894142]);
  });

  it("sigmoid binary cross-entropy from logits", async () => {
    const p = plan({ input: [2], layers: [{ type: "dense", units: 1 }], output: "sigmoid" });
    const params = { "dense0.W": Float32Array.from([0.5, -1]), "dense0.b": Float32Array.from([0.25]) };
    // x = [2, 1] → z = 0.25, y = 0: L = −log(1 − σ(0.25)) = 0.25 + log(1 + e^−0.25) = 0.82593942
    // dZ = σ(0.25) − 0 = 0.56217650; dW = x·dZ = [1.12435300, 0.56217650]; db = 0.56217650.
    const r = await computeGradients(p, params, { inputs: Float32Array.from([2, 1]), labels: Int32Array.from([0]), indices: [0] }, { step: 0, seed: 0, chunkSize: 4 });
    expect(r.lossSum).toBeCloseTo(0.82593942, 6);
    expect(r.correct).toBe(0); // σ(0.25) > 0.5 predicts 1
    close(r.gradients!["dense0.W"], [1.124353, 0.5621765]);
    close(r.gradients!["dense0.b"], [0.5621765]);
  });

  it("mean squared error over the outputs", async () => {
    const p = plan({ input: [2], layers: [{ type: "dense", units: 2 }], output: "linear" });
    const params = { "dense0.W": Float32Array.from([1, 0, 0, 1]), "dense0.b": Float32Array.from([0.5, -0.5]) };
    // x = [1, 3] → z = [1.5, 2.5], y = [1, 1]: L = (0.5² + 1.5²)/2 = 1.25
    // dZ = (2/K)(z − y) = [0.5, 1.5]; dW = xᵀ·dZ = [[0.5, 1.5], [1.5, 4.5]].
    const r = await computeGradients(p, params, { inputs: Float32Array.from([1, 3]), labels: Float32Array.from([1, 1]), indices: [0] }, { step: 0, seed: 0, chunkSize: 4 });
    expect(r.lossSum).toBeCloseTo(1.25, 6);
    close(r.gradients!["dense0.W"], [0.5, 1.5, 1.5, 4.5]);
    close(r.gradients!["dense0.b"], [0.5, 1.5]);
  });

  it("stays finite for huge logits (log-sum-exp, stable sigmoid cross-entropy)", async () => {
    const sm = plan({ input: [2], layers: [{ type: "dense", units: 2 }], output: "softmax" });
    const id = { "dense0.W": Float32Array.from([1, 0, 0, 1]), "dense0.b": new Float32Array(2) };
    // z = [1000, 0]: L(y=1) = logsumexp − z₁ = 1000; L(y=0) = log(1 + e^−1000) ≈ 0.
    const r = await computeGradients(sm, id, { inputs: Float32Array.from([1000, 0, 1000, 0]), labels: Int32Array.from([1, 0]), indices: [0, 1] }, { step: 0, seed: 0, chunkSize: 2 });
    expect(r.lossSum).toBeCloseTo(1000, 3);
    expect([...r.gradients!["dense0.W"]].every(Number.isFinite)).toBe(true);
    const sg = plan({ input: [2], layers: [{ type: "dense", units: 1 }], output: "sigmoid" });
    // z = −1000, y = 1: L = max(z, 0) − z·y + log(1 + e^−|z|) = 1000; dZ = σ(z) − 1 = −1.
    const s = await computeGradients(sg, { "dense0.W": Float32Array.from([1, 0]), "dense0.b": new Float32Array(1) },
      { inputs: Float32Array.from([-1000, 0]), labels: Int32Array.from([1]), indices: [0] }, { step: 0, seed: 0, chunkSize: 1 });
    expect(s.lossSum).toBeCloseTo(1000, 3);
    close(s.gradients!["dense0.b"], [-1]);
  });
});

const everyLayer = (output: "softmax" | "sigmoid" | "linear", units: number) => ({
  input: [7],
  layers: [
    { type: "dense", units: 9 }, { type: "batchnorm" }, { type: "relu" }, { type: "dropout", keepProb: 0.7 },
    { type: "dense", units: 8 }, { type: "leakyRelu", alpha: 0.1 },
    { type: "dense", units: 6 }, { type: "tanh" }, { type: "dropout", keepProb: 0.9 },
    { type: "dense", units: 5 }, { type: "sigmoid" },
    { type: "dense", units: 4 }, { type: "linear" }, { type: "batchnorm", momentum: 0.5, epsilon: 1e-3 },
    { type: "dense", units },
  ],
  output,
});

describe("engine against the float64 reference", () => {
  for (const [output, units] of [["softmax", 3], ["sigmoid", 1], ["linear", 2]] as const) {
    it(`${output}: every layer type, gradients pass the check and losses agree`, async () => {
      const p = plan(everyLayer(output, units));
      const params = initParameters(p, 5);
      const batch = randomBatch(p, 27, 8, 1000);
      const options = { step: 6, seed: 13, chunkSize: 8 };
      const report = await gradientCheck(p, params, batch, { ...options, regularization: { l2: 0.3, l1: 0.1 } });
      expect(report.ratio).toBeLessThan(1e-5);
      expect(report.withDropout).toBe(true);
      const r = await computeGradients(p, params, batch, options);
      const ref = referenceCost(p, params, batch, { mode: "train", ...options });
      expect(Math.abs(r.lossSum - ref.lossSum) / ref.lossSum).toBeLessThan(1e-5);
      expect(r.count).toBe(27);
      expect([...r.chunks.count]).toEqual([8, 8, 8, 3]);
    });
  }

  it("evaluates in inference mode with running statistics and without dropout", async () => {
    const p = plan(everyLayer("softmax", 3));
    const params = initParameters(p, 5);
    const state = initBatchNormState(p);
    // Non-trivial running statistics.
    for (const [name, t] of Object.entries(state)) t.forEach((_, i) => (t[i] = name.endsWith("mean") ? 0.1 * i - 0.2 : 0.5 + 0.25 * i));
    const batch = randomBatch(p, 19, 2);
    const r = await evaluate(p, params, state, batch, { chunkSize: 8, outputs: true });
    const ref = referenceCost(p, params, batch, { mode: "eval", batchNormState: state });
    close(r.outputs!, [...ref.outputs], 1e-5);
    expect(Math.abs(r.lossSum - ref.lossSum) / ref.lossSum).toBeLessThan(1e-5);
    let correct = 0;
    for (let i = 0; i < 19; i++) {
      const row = [...ref.outputs.subarray(i * 3, i * 3 + 3)];
      if (row.indexOf(Math.max(...row)) === batch.labels[i]) correct++;
    }
    expect(r.correct).toBe(correct);
    // Inference is independent of chunking and of the step: no dropout, no per-chunk statistics.
    const again = await evaluate(p, params, state, batch, { chunkSize: 19, outputs: true });
    expect(again.outputs).toEqual(r.outputs);
  });
});

describe("chunks are computed on their own", () => {
  it("gives bitwise-identical chunk gradients, losses and moments however the batch is split", async () => {
    const p = plan({
      input: [20],
      layers: [{ type: "dense", units: 24 }, { type: "batchnorm" }, { type: "relu" }, { type: "dropout", keepProb: 0.8 }, { type: "dense", units: 4 }],
      output: "softmax",
    });
    const params = initParameters(p, 3);
    const S = 8, m = 6 * S + 5;
    const batch = randomBatch(p, m, 4, 500);
    const opts = { step: 2, seed: 9, chunkSize: S };
    // One block per chunk: the gradient of every chunk on its own.
    const perChunk = (chunks: number) => ({ ...opts, blocks: Array.from({ length: chunks }, (_, c) => ({ start: c, count: 1 })) });
    const whole = await computeGradients(p, params, batch, perChunk(7));
    for (const cuts of [[0, 1, 2, 3, 4, 5, 6, 7], [0, 3, 7], [0, 5, 6, 7], [0, 2, 7]]) {
      for (let s = 0; s + 1 < cuts.length; s++) {
        const a = cuts[s] * S, b = Math.min(cuts[s + 1] * S, m);
        const part = await computeGradients(p, params, sliceBatch(p, batch, a, b), perChunk(cuts[s + 1] - cuts[s]));
        part.blocks.forEach((block, c) => {
          for (const info of p.parameters) {
            expect(block.gradients[info.name], `${info.name} of chunk ${cuts[s] + c} in shard ${a}..${b}`).toEqual(whole.blocks[cuts[s] + c].gradients[info.name]);
          }
        });
        expect([...part.chunks.loss]).toEqual([...whole.chunks.loss.subarray(cuts[s], cuts[s + 1])]);
        const bn = part.batchNorm.batchnorm1, bnWhole = whole.batchNorm.batchnorm1;
        expect(bn.mean).toEqual(bnWhole.mean.subarray(cuts[s] * 24, cuts[s] * 24 + bn.mean.length));
        expect(bn.m2).toEqual(bnWhole.m2.subarray(cuts[s] * 24, cuts[s] * 24 + bn.m2.length));
      }
    }
  });
});

describe("tensor ownership", () => {
  it("leaks no tensors across repeated steps, evaluations and failed calls", async () => {
    const p: ModelPlan = plan(everyLayer("softmax", 3));
    const params = initParameters(p, 1);
    const state = initBatchNormState(p);
    const batch = randomBatch(p, 40, 1);
    await computeGradients(p, params, batch, { step: 0, seed: 0, chunkSize: 16 });
    const before = tf.memory().numTensors;
    for (let step = 0; step < 5; step++) {
      await computeGradients(p, params, batch, { step, seed: 0, chunkSize: 16 });
      await evaluate(p, params, state, batch, { chunkSize: 16, outputs: true });
    }
    const broken: NamedArrays = { ...params, "dense0.W": new Float32Array(3) };
    await expect(computeGradients(p, broken, batch, { step: 0, seed: 0, chunkSize: 16 })).rejects.toThrow(/'parameters.dense0.W' must have 63 values/);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe("input validation", () => {
  const p = plan({ input: [2], layers: [{ type: "dense", units: 3 }], output: "softmax" });
  const params = initParameters(p, 1);
  const run = (inputs: number[], labels: Int32Array | Float32Array, chunkSize = 4) =>
    computeGradients(p, params, { inputs: Float32Array.from(inputs), labels, indices: labels.length === 1 ? [0] : [0, 1] }, { step: 0, seed: 0, chunkSize });
  it("names the offending value", async () => {
    await expect(run([1, NaN], Int32Array.from([0]))).rejects.toThrow(/'inputs\[1\]' must be finite, current value is NaN/);
    await expect(run([1, 2], Int32Array.from([3]))).rejects.toThrow(/'labels\[0\]' must be a class index in \[0, 2\], current value is 3/);
    await expect(run([1, 2, 3], Int32Array.from([0]))).rejects.toThrow(/'inputs' must hold m × 2 values/);
    await expect(run([1, 2], Float32Array.from([0]))).rejects.toThrow(/'labels' must be an Int32Array/);
    await expect(run([1, 2], Int32Array.from([0]), 0)).rejects.toThrow(/'chunkSize' must be an integer ≥ 1, current value is 0/);
    const nonFinite = { ...params, "dense0.b": Float32Array.from([0, Infinity, 0]) };
    await expect(computeGradients(p, nonFinite, { inputs: Float32Array.from([1, 2]), labels: Int32Array.from([0]), indices: [0] }, { step: 0, seed: 0, chunkSize: 1 }))
      .rejects.toThrow(/'parameters.dense0.b\[1\]' must be finite, current value is Infinity/);
  });
});

describe("gradient checking", () => {
  it("reports where a wrong gradient is wrong", async () => {
    const p = plan({ input: [3], layers: [{ type: "dense", units: 4 }, { type: "tanh" }, { type: "dense", units: 2 }], output: "softmax" });
    const params = initParameters(p, 4);
    const batch = randomBatch(p, 6, 2);
    const r = await computeGradients(p, params, batch, { step: 0, seed: 0, chunkSize: 6 });
    const analytic: NamedArrays = {};
    for (const [name, g] of Object.entries(r.gradients!)) analytic[name] = g.map((x) => x / 6);
    expect(compareWithCost(p, params, analytic, batch, { chunkSize: 6 }).ratio).toBeLessThan(1e-6);
    analytic["dense2.W"][5] += 0.05; // a bug in one entry
    const report = compareWithCost(p, params, analytic, batch, { chunkSize: 6 });
    expect(report.verdict).toBe("wrong");
    expect(report.worst.name).toBe("dense2.W");
    expect(report.worst.index).toBe(5);
    expect(report.tensors.find((t) => t.name === "dense0.W")!.ratio).toBeLessThan(1e-6);
  });
});

describe("block sums", () => {
  it("sums requested blocks in canonical order, equal to the whole-batch tree when combined", async () => {
    const { alignedBlocks } = await import("../../core/reduce-tree.ts");
    const p = plan({ input: [10], layers: [{ type: "dense", units: 12 }, { type: "batchnorm" }, { type: "relu" }, { type: "dense", units: 3 }], output: "softmax" });
    const params = initParameters(p, 8);
    const S = 4, m = 7 * S;
    const batch = randomBatch(p, m, 5);
    const opts = { step: 1, seed: 2, chunkSize: S };
    const whole = await computeGradients(p, params, batch, opts);
    // A worker holding chunks [3, 7) of 7 returns the aligned blocks [3,4) and [4,7).
    const part = await computeGradients(p, params, sliceBatch(p, batch, 3 * S, m), { ...opts, blocks: alignedBlocks(3, 7, 7).map((b) => ({ start: b.start - 3, count: b.count })) });
    const head = await computeGradients(p, params, sliceBatch(p, batch, 0, 3 * S), { ...opts, blocks: alignedBlocks(0, 3, 7) });
    expect(part.blocks.map((b) => [b.start, b.count])).toEqual([[0, 1], [1, 3]]);
    const { combineBlocks, addFloat32 } = await import("../../core/reduce-tree.ts");
    for (const info of p.parameters) {
      const all = [
        ...head.blocks.map((b) => ({ start: b.start, count: b.count, value: b.gradients[info.name] })),
        ...part.blocks.map((b) => ({ start: b.start + 3, count: b.count, value: b.gradients[info.name] })),
      ];
      expect(combineBlocks(all, 7, addFloat32), info.name).toEqual(whole.gradients![info.name]);
    }
    await expect(computeGradients(p, params, batch, { ...opts, blocks: [{ start: 5, count: 3 }] })).rejects.toThrow(/'blocks\[0\]' must lie within the shard's 7 chunks/);
  });
});

describe("the inexact fast path", () => {
  it("gives the same gradients to float32 rounding with one matMul per shard", async () => {
    const p = plan({ input: [12], layers: [{ type: "dense", units: 10 }, { type: "batchnorm" }, { type: "relu" }, { type: "dropout", keepProb: 0.7 }, { type: "dense", units: 3 }], output: "softmax" });
    const params = initParameters(p, 2);
    const batch = randomBatch(p, 45, 3);
    const opts = { step: 1, seed: 5, chunkSize: 8 };
    const exact = await computeGradients(p, params, batch, opts);
    const fast = await computeGradients(p, params, batch, { ...opts, exactChunks: false });
    for (const info of p.parameters) {
      const a = exact.gradients![info.name], b = fast.gradients![info.name];
      let diff = 0, norm = 0;
      for (let i = 0; i < a.length; i++) {
        diff = Math.max(diff, Math.abs(a[i] - b[i]));
        norm = Math.max(norm, Math.abs(a[i]));
      }
      expect(diff / norm, info.name).toBeLessThan(1e-5);
    }
    expect(fast.batchNorm).toEqual(exact.batchNorm); // batch norm is per chunk either way
    await expect(computeGradients(p, params, batch, { ...opts, exactChunks: false, blocks: [{ start: 0, count: 1 }] })).rejects.toThrow(/need 'exactChunks'/);
  });
});
