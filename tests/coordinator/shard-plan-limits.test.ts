// The shard planner against the limits a workerd worker advertises (edge-functions/worker-limits.ts
// WORKERD_LIMITS, what keeps a request inside an isolate's 128 MB): for many models, batch sizes,
// chunk sizes and pool sizes, every planned shard's real request body is no larger than
// maxBodyBytes and passes the worker's own checks (decodeGradientsRequest: examples, activations,
// per-chunk gradients, parameters). A model the workers cannot take at all is refused up front.
import { describe, expect, it } from "vitest";
import type { PoolCapacity } from "../../coordinator/pool/worker-pool.ts";
import { maxShardExamples, planShards } from "../../coordinator/training/shard-plan.ts";
import { initParameters } from "../../core/model/parameters.ts";
import { parseModelSpec, planModel } from "../../core/model/spec.ts";
import { Domain, Rng } from "../../core/random.ts";
import { encode } from "../../core/wire/codec.ts";
import { decodeGradientsRequest } from "../../core/wire/request-check.ts";
import { resolveLimits, WORKERD_LIMITS } from "../../edge-functions/worker-limits.ts";
import { randomBatch, sliceBatch } from "../helpers/batches.ts";
import { gradientsRequest } from "../helpers/wire-fixtures.ts";

const limits = resolveLimits(WORKERD_LIMITS);
/** What HttpPool.capacity() reports for healthy workers that all advertise these limits. */
const capacity = (workers: number): PoolCapacity => ({ workers, limits: { ...limits } });

describe("shard plan under the workerd limits", () => {
  it("plans only shards that the worker accepts, body bytes included", () => {
    const rng = new Rng(7, Domain.test);
    let shardsChecked = 0;
    let nearLimits = 0;
    for (let trial = 0; trial < 24; trial++) {
      // Inputs from 8 to 2048 features, 1-2 hidden layers (maybe batch norm), softmax or linear.
      const input = 8 << rng.int(9);
      const layers: Record<string, unknown>[] = [];
      for (let l = 0, n = 1 + rng.int(2); l < n; l++) {
        layers.push({ type: "dense", units: 16 << rng.int(5) });
        if (rng.int(2) === 0) layers.push({ type: "batchnorm", momentum: 0.9, epsilon: 1e-5 });
        layers.push({ type: "relu" });
      }
      const linear = rng.int(3) === 0;
      layers.push({ type: "dense", units: linear ? 3 : 10 });
      const spec = { input: [input], layers, output: linear ? "linear" : "softmax" };
      const plan = planModel(parseModelSpec(spec));
      if (plan.parameterCount > limits.maxParameters) continue;
      const chunkSize = 1 << rng.int(8);
      if (maxShardExamples(plan, chunkSize, limits) < chunkSize) continue;
      const rows = 1 + rng.int(8 * maxShardExamples(plan, chunkSize, limits));
      const workers = 1 + rng.int(4);
      const deterministic = rng.int(2) === 0;
      const shards = planShards(rows, chunkSize, capacity(workers), plan);
      const batch = randomBatch(plan, rows, trial);
      const params = initParameters(plan, trial);
      const totalChunks = Math.ceil(rows / chunkSize);
      for (const shard of shards) {
        const message = gradientsRequest(plan, spec, params, sliceBatch(plan, batch, shard.rowStart, shard.rowEnd), {
          chunkSize, step: 1, seed: 2,
          ...(deterministic ? { firstChunk: shard.firstChunk, totalChunks } : {}),
        });
        const body = encode(message);
        const what = `trial ${trial} (${JSON.stringify(spec)}, ${rows} rows, chunks of ${chunkSize}), shard at row ${shard.rowStart}`;
        expect(body.length, what).toBeLessThanOrEqual(limits.maxBodyBytes);
        expect(() => decodeGradientsRequest(body.slice(), limits), what).not.toThrow();
        const examples = shard.rowEnd - shard.rowStart;
        const activations = examples * (plan.inputSize + plan.widths.reduce((a, b) => a + b, 0));
        if (activations > limits.maxActivations / 2 || shard.chunks * plan.parameterCount > limits.maxChunkGradients / 2) nearLimits++;
        shardsChecked++;
      }
    }
    // The sample reaches the limits: many shards, some over half the activations or chunk gradients allowed.
    expect(shardsChecked).toBeGreaterThan(40);
    expect(nearLimits).toBeGreaterThan(10);
  });

  it("refuses a model with more parameters than the workers take, naming the limit", () => {
    // 784·640 + 640 + 6410 = 508,810 parameters, over maxParameters (500,000).
    const plan = planModel(parseModelSpec({ input: [784], layers: [{ type: "dense", units: 640 }, { type: "relu" }, { type: "dense", units: 10 }], output: "softmax" }));
    expect(plan.parameterCount).toBeGreaterThan(limits.maxParameters);
    expect(() => planShards(64, 8, capacity(2), plan)).toThrow(/508810 parameters.*maxParameters/);
    expect(maxShardExamples(plan, 8, limits)).toBe(0);
  });
});
