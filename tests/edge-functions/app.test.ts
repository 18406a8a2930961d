// The worker app in process (app.request): every endpoint, its numbers against core computed
// directly, deterministic blocks against the whole-batch canonical sum, and concurrency.
import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../edge-functions/app.ts";
import { VERSION } from "../../edge-functions/version.ts";
import { computeGradients, evaluate } from "../../core/model/engine.ts";
import { initBatchNormState, initParameters, type NamedArrays } from "../../core/model/parameters.ts";
import { parseModelSpec, planModel } from "../../core/model/spec.ts";
import { addFloat32, combineBlocks } from "../../core/reduce-tree.ts";
import { tf, useBackend } from "../../core/tf.ts";
import { decodeEvaluateResponse, decodeGradientsResponse, parseHealth, type GradientsResponse } from "../../core/wire/messages.ts";
import { randomBatch, sliceBatch } from "../helpers/batches.ts";
import { postMessage } from "../helpers/worker-client.ts";
import { evaluateRequest, gradientsRequest } from "../helpers/wire-fixtures.ts";
import packageJson from "../../package.json" with { type: "json" };

const SECRET = "app-test-secret-0123456789";
const BASE = "http://worker.test";

// Every layer kind that couples examples (batch norm, dropout) plus a bias-free dense layer.
const spec = {
  input: [10],
  layers: [
    { type: "dense", units: 12 },
    { type: "batchnorm" },
    { type: "relu" },
    { type: "dropout", keepProb: 0.7 },
    { type: "dense", units: 9 },
    { type: "tanh" },
    { type: "dense", units: 4 },
  ],
  output: "softmax",
};
const plan = planModel(parseModelSpec(spec));
const params = initParameters(plan, 5);
const STEP = 6, SEED = 13, CHUNK = 4;
// 26 examples at chunk size 4: 7 chunks, the last one partial (2 examples).
const M = 26, TOTAL = 7;
const batch = randomBatch(plan, M, 8, 1000);

const app = createApp({ runtime: "test", secret: SECRET });
const send = (r: Request) => app.request(r);

function bits(a: Float32Array): number[] {
  return Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
}

async function gradientsReply(message: unknown): Promise<GradientsResponse> {
  const response = await postMessage(send, BASE, "/v1/gradients", message, { secret: SECRET });
  expect(response.status, await response.clone().text()).toBe(200);
  expect(response.headers.get("content-type")).toBe("application/x-msgpack");
  return decodeGradientsResponse(new Uint8Array(await response.arrayBuffer()));
}

beforeAll(async () => {
  await useBackend("wasm");
});

describe("createApp", () => {
  it("refuses to start without a secret unless insecure", () => {
    expect(() => createApp({ runtime: "test" })).toThrow(/EDGEPROP_WORKER_SECRET is not set.*EDGEPROP_INSECURE=1/);
    expect(() => createApp({ runtime: "test", secret: "" })).toThrow(/EDGEPROP_WORKER_SECRET is not set/);
    expect(() => createApp({ runtime: "test", secret: "short" })).toThrow(RangeError);
    expect(() => createApp({ runtime: "test", insecure: true })).not.toThrow();
  });

  it("checks limit overrides up front", () => {
    expect(() => createApp({ runtime: "test", secret: SECRET, limits: { maxBodyBytes: 0 } })).toThrow(/'limits.maxBodyBytes' must be a positive integer/);
    expect(() => createApp({ runtime: "test", secret: SECRET, limits: { maxBodyBites: 5 } as never })).toThrow(/'limits.maxBodyBites' is not a known limit/);
  });
});

describe("GET /v1/health", () => {
  it("reports runtime, backend, SIMD, version and limits", async () => {
    const response = await app.request("/v1/health");
    expect(response.status).toBe(200);
    const health = parseHealth(await response.json());
    expect(health).toMatchObject({ protocol: 1, runtime: "test", version: VERSION, backend: "wasm", simd: true, auth: "hmac-sha256" });
    expect(health.backends).toContain("wasm");
    expect(health.backends).toContain("cpu");
    expect(health.limits.maxBodyBytes).toBe(32 * 1024 * 1024);
    expect(health.limits.maxUnits).toBe(4096);
    expect(VERSION).toBe(packageJson.version);
    const insecure = createApp({ runtime: "node", insecure: true, limits: { maxExamples: 100 } });
    expect(parseHealth(await (await insecure.request("/v1/health")).json())).toMatchObject({ auth: "none", limits: { maxExamples: 100 } });
  });
});

describe("POST /v1/gradients", () => {
  it("returns exactly the bits of computeGradients, with timings", async () => {
    const before = tf.memory().numTensors;
    const reply = await gradientsReply(gradientsRequest(plan, spec, params, batch, { chunkSize: CHUNK, step: STEP, seed: SEED }));
    // Not deterministic: one sum per shard, and the engine's faster whole-shard weight gradients.
    const direct = await computeGradients(plan, params, batch, { chunkSize: CHUNK, step: STEP, seed: SEED, exactChunks: false });
    expect(reply.backend).toBe("wasm");
    expect(reply.count).toBe(M);
    expect(reply.lossSum).toBe(direct.lossSum);
    expect(reply.correct).toBe(direct.correct);
    expect(Array.from(reply.chunks.loss.data)).toEqual(Array.from(direct.chunks.loss));
    expect(Array.from(reply.chunks.count.data)).toEqual([4, 4, 4, 4, 4, 4, 2]);
    expect(reply.blocks).toBeUndefined();
    for (const p of plan.parameters) {
      expect(reply.gradients![p.name].shape, p.name).toEqual(p.shape);
      expect(bits(reply.gradients![p.name].data), p.name).toEqual(bits(direct.gradients![p.name]));
    }
    const bn = reply.batchNorm.batchnorm1;
    expect(bn.mean.shape).toEqual([TOTAL, 12]);
    expect(bits(bn.mean.data)).toEqual(bits(direct.batchNorm.batchnorm1.mean));
    expect(bits(bn.m2.data)).toEqual(bits(direct.batchNorm.batchnorm1.m2));
    expect(Array.from(bn.count.data)).toEqual(Array.from(direct.batchNorm.batchnorm1.count));
    for (const value of Object.values(reply.timing)) expect(value).toBeGreaterThanOrEqual(0);
    expect(reply.timing.computeMs).toBeGreaterThan(0);
    expect(reply.timing.encodeMs).not.toBe(0.5);
    expect(tf.memory().numTensors).toBe(before);
  });

  it("in deterministic mode, reproduces the whole-batch canonical sums bitwise however the batch is sharded", async () => {
    const whole = await computeGradients(plan, params, batch, { chunkSize: CHUNK, step: STEP, seed: SEED });
    const shardings = [[7], [3, 4], [4, 3], [1, 6], [1, 2, 4], [2, 2, 2, 1], [5, 1, 1], [1, 1, 1, 1, 1, 1, 1]];
    for (const sizes of shardings) {
      const blocks: { start: number; count: number; value: NamedArrays }[] = [];
      let lossChunks: number[] = [];
      let first = 0;
      for (const chunks of sizes) {
        const rows = [first * CHUNK, Math.min((first + chunks) * CHUNK, M)];
        const shard = sliceBatch(plan, batch, rows[0], rows[1]);
        const reply = await gradientsReply(gradientsRequest(plan, spec, params, shard, { chunkSize: CHUNK, step: STEP, seed: SEED, firstChunk: first, totalChunks: TOTAL }));
        expect(reply.gradients).toBeUndefined();
        for (const b of reply.blocks!) {
          const value: NamedArrays = {};
          for (const [name, t] of Object.entries(b.gradients)) value[name] = t.data;
          blocks.push({ start: b.start, count: b.count, value });
        }
        lossChunks = lossChunks.concat(Array.from(reply.chunks.loss.data));
        first += chunks;
      }
      for (const p of plan.parameters) {
        const sum = combineBlocks(blocks.map((b) => ({ ...b, value: b.value[p.name] })), TOTAL, addFloat32);
        expect(bits(sum), `${sizes.join("+")}: ${p.name}`).toEqual(bits(whole.gradients![p.name]));
      }
      expect(lossChunks).toEqual(Array.from(whole.chunks.loss));
    }
  });

  it("computes on the backend a request names, with concurrent requests on one isolate kept apart", async () => {
    const small = sliceBatch(plan, batch, 0, 12);
    const request = (backend: "wasm" | "cpu") => gradientsRequest(plan, spec, params, small, { chunkSize: CHUNK, step: STEP, seed: SEED, backend });
    const replies = await Promise.all([request("cpu"), request("wasm"), request("cpu"), request("wasm")].map(gradientsReply));
    const options = { chunkSize: CHUNK, step: STEP, seed: SEED, exactChunks: false };
    await useBackend("cpu");
    const onCpu = await computeGradients(plan, params, small, options);
    await useBackend("wasm");
    const onWasm = await computeGradients(plan, params, small, options);
    expect(replies.map((r) => r.backend)).toEqual(["cpu", "wasm", "cpu", "wasm"]);
    for (const [i, reply] of replies.entries()) {
      const direct = i % 2 === 0 ? onCpu : onWasm;
      for (const p of plan.parameters) expect(bits(reply.gradients![p.name].data), p.name).toEqual(bits(direct.gradients![p.name]));
    }
  });
});

describe("POST /v1/evaluate", () => {
  it("matches core's evaluate, outputs included", async () => {
    const state = initBatchNormState(plan);
    state["batchnorm1.mean"] = Float32Array.from({ length: 12 }, (_, i) => 0.1 * i);
    state["batchnorm1.variance"] = Float32Array.from({ length: 12 }, (_, i) => 1 + 0.05 * i);
    const before = tf.memory().numTensors;
    const response = await postMessage(send, BASE, "/v1/evaluate", evaluateRequest(plan, spec, params, state, batch, { chunkSize: 8, outputs: true }), { secret: SECRET });
    expect(response.status).toBe(200);
    const reply = decodeEvaluateResponse(new Uint8Array(await response.arrayBuffer()));
    const direct = await evaluate(plan, params, state, batch, { chunkSize: 8, outputs: true });
    expect(reply.lossSum).toBe(direct.lossSum);
    expect(reply.correct).toBe(direct.correct);
    expect(reply.count).toBe(M);
    expect(reply.outputs!.shape).toEqual([M, 4]);
    expect(bits(reply.outputs!.data)).toEqual(bits(direct.outputs!));
    expect(tf.memory().numTensors).toBe(before);
    const without = await postMessage(send, BASE, "/v1/evaluate", evaluateRequest(plan, spec, params, state, batch, { chunkSize: 8 }), { secret: SECRET });
    expect(decodeEvaluateResponse(new Uint8Array(await without.arrayBuffer())).outputs).toBeUndefined();
  });
});
