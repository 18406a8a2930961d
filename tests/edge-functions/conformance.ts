/**
 * The conformance suite every runtime's edge function passes (after Hono's
 * `router/common.case.test.ts`): one function that declares the tests, called by one vitest file
 * per runtime (conformance-{node,deno,workerd}.test.ts) with a way to start a real worker process.
 *
 * The oracles are independent of the worker: the in-process core computation on the same wasm
 * binary (same request → same numbers to 1e-6 relative, so the three runtimes agree with each other
 * to 2e-6 at worst, and in practice bitwise), and the float64 reference forward pass with finite
 * differences (core/model/gradient-check.ts `compareWithCost`, ratio < 1e-5).
 */
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpTransport } from "../../coordinator/pool/http-transport.ts";
import { compareWithCost } from "../../core/model/gradient-check.ts";
import { computeGradients, evaluate, type Batch, type GradientResult } from "../../core/model/engine.ts";
import { initBatchNormState, initParameters, type NamedArrays } from "../../core/model/parameters.ts";
import { parseModelSpec, planModel } from "../../core/model/spec.ts";
import { addFloat32, alignedBlocks, combineBlocks } from "../../core/reduce-tree.ts";
import { useBackend } from "../../core/tf.ts";
import { encode } from "../../core/wire/codec.ts";
import { decodeEvaluateResponse, decodeGradientsResponse, parseHealth, type HealthResponse } from "../../core/wire/messages.ts";
import { newNonce, signRequest } from "../../core/wire/signing.ts";
import { randomBatch, sliceBatch } from "../helpers/batches.ts";

export type Runtime = "node" | "deno" | "workerd";

/** A worker process started by a runtime's test file; `stop()` ends it and its children. */
export interface RunningWorker {
  readonly url: string;
  stop(): Promise<void>;
}

export interface ConformanceOptions {
  /** Starts a worker that requires requests signed with `secret`, on a free loopback port. */
  readonly start: (secret: string) => Promise<RunningWorker>;
}

const SECRET = "conformance-secret-0123456789abcdef";

/** A small MLP with every layer kind whose gradient crosses examples: batch norm and dropout. */
const spec = {
  input: [12],
  layers: [
    { type: "dense", units: 16, init: "he" },
    { type: "batchnorm", momentum: 0.9, epsilon: 1e-5 },
    { type: "relu" },
    { type: "dropout", keepProb: 0.75 },
    { type: "dense", units: 8 },
    { type: "tanh" },
    { type: "dense", units: 5 },
  ],
  output: "softmax",
} as const;
const plan = planModel(parseModelSpec(spec));
const params = initParameters(plan, 11);
// 40 examples at chunk size 16: chunks of 16, 16 and 8, so full and partial chunks both run.
const M = 40, CHUNK = 16, STEP = 4, SEED = 9;
const batch = randomBatch(plan, M, 3);

// Wire tensors written out as DESIGN.md defines them (`{shape, dtype, data}`), independently of the
// helpers of core/wire, so the suite checks the documented format rather than its own encoder.
interface WireTensor {
  readonly shape: readonly number[];
  readonly dtype: "float32" | "int32";
  readonly data: Float32Array | Int32Array;
}
const float32 = (data: Float32Array, shape: readonly number[]): WireTensor => ({ shape: [...shape], dtype: "float32", data });
const int32 = (data: Int32Array, shape: readonly number[]): WireTensor => ({ shape: [...shape], dtype: "int32", data });

function wireTensors(tensors: NamedArrays): Record<string, WireTensor> {
  const out: Record<string, WireTensor> = {};
  for (const p of [...plan.parameters, ...plan.batchNormState]) {
    if (tensors[p.name]) out[p.name] = float32(tensors[p.name], p.shape);
  }
  return out;
}

function shardFields(b: Batch) {
  const m = b.indices.length;
  return {
    inputs: float32(b.inputs as Float32Array, [m, plan.inputSize]),
    labels: int32(b.labels as Int32Array, [m]),
    indices: int32(Int32Array.from(b.indices), [m]),
  };
}

function gradientsBody(b: Batch, extra: Record<string, unknown> = {}): Uint8Array {
  // encode() may return msgpackr's shared buffer: copy before the next encode.
  return encode({
    protocol: 1,
    model: spec,
    parameters: wireTensors(params),
    ...shardFields(b),
    chunkSize: CHUNK,
    step: STEP,
    seed: SEED,
    ...extra,
  }).slice();
}

async function post(url: string, path: string, body: Uint8Array, secret: string | null = SECRET): Promise<Response> {
  const headers: Record<string, string> = { "content-type": "application/x-msgpack" };
  if (secret !== null) Object.assign(headers, await signRequest(secret, { method: "POST", path, body, nonce: newNonce() }));
  return fetch(url + path, { method: "POST", headers, body: body as Uint8Array<ArrayBuffer> });
}

async function okBytes(response: Response): Promise<Uint8Array> {
  const bytes = new Uint8Array(await response.arrayBuffer());
  if (response.status !== 200) {
    throw new Error(`HTTP ${response.status}: ${new TextDecoder().decode(bytes).slice(0, 500)}`);
  }
  return bytes;
}

/** max |a − b| / max |b|: relative to the tensor's scale, so near-zero entries do not dominate. */
export function relativeDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let diff = 0, scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return scale === 0 ? diff : diff / scale;
}

/** Largest relative difference over every gradient tensor, checking the names match. */
function worstGradientDiff(got: Record<string, { data: Float32Array }>, want: NamedArrays): number {
  expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
  let worst = 0;
  for (const name of Object.keys(want)) worst = Math.max(worst, relativeDiff(got[name].data, want[name]));
  return worst;
}

/**
 * Posts the same signed gradients request (identical bytes and headers) to every worker and
 * returns their gradients by URL: the cross-runtime check of the suite.
 */
export async function sameSignedRequest(urls: readonly string[]): Promise<Record<string, { data: Float32Array }>[]> {
  const body = gradientsBody(batch);
  const path = "/v1/gradients";
  const headers = { "content-type": "application/x-msgpack", ...(await signRequest(SECRET, { method: "POST", path, body, nonce: newNonce() })) };
  return Promise.all(urls.map(async (url) => {
    const response = await fetch(url.replace(/\/$/, "") + path, { method: "POST", headers, body: body as Uint8Array<ArrayBuffer> });
    return decodeGradientsResponse(await okBytes(response)).gradients!;
  }));
}

/** The secret the suite's workers must be started with. */
export const CONFORMANCE_SECRET = SECRET;

/** Largest relative difference between two gradient sets (exported for the cross-runtime test). */
export function gradientSetDiff(a: Record<string, { data: Float32Array }>, b: Record<string, { data: Float32Array }>): number {
  const want: NamedArrays = {};
  for (const [name, t] of Object.entries(b)) want[name] = t.data;
  return worstGradientDiff(a, want);
}

/**
 * Declares the suite for one runtime. The worker is started once (beforeAll) and stopped in
 * afterAll, so a failing test leaves no process behind.
 */
export function edgeFunctionConformance(runtime: Runtime, options: ConformanceOptions): void {
  describe(`edge function conformance: ${runtime}`, () => {
    let worker: RunningWorker | undefined;
    let url = "";
    let health: HealthResponse;
    let local: GradientResult;
    let localGradients: NamedArrays;

    beforeAll(async () => {
      await useBackend("wasm");
      local = await computeGradients(plan, params, batch, { step: STEP, seed: SEED, chunkSize: CHUNK });
      localGradients = local.gradients!;
      worker = await options.start(SECRET);
      url = worker.url.replace(/\/$/, "");
    }, 120_000);

    afterAll(async () => {
      await worker?.stop();
    }, 30_000);

    it("reports its runtime, the wasm backend with SIMD, signing and its limits", async () => {
      const response = await fetch(`${url}/v1/health`);
      expect(response.status).toBe(200);
      health = parseHealth(await response.json());
      expect(health.runtime).toBe(runtime);
      expect(health.backend).toBe("wasm");
      expect(health.backends).toContain("wasm");
      expect(health.simd).toBe(true);
      expect(health.auth).toBe("hmac-sha256");
      // workerd advertises the smaller limits that fit an isolate's 128 MB (edge-functions/worker-limits.ts).
      expect(health.limits.maxBodyBytes).toBe(runtime === "workerd" ? 8 * 1024 * 1024 : 32 * 1024 * 1024);
    });

    it("rejects unsigned and wrongly signed requests with a JSON 401", async () => {
      const body = gradientsBody(batch);
      for (const secret of [null, "another-secret"]) {
        const response = await post(url, "/v1/gradients", body, secret);
        expect(response.status, `secret ${secret}`).toBe(401);
        const json = (await response.json()) as { error: { code: string; message: string } };
        expect(typeof json.error.code).toBe("string");
        expect(typeof json.error.message).toBe("string");
      }
    });

    it("refuses bodies over its limit with a 413, declared or streamed, and then still computes", async () => {
      const limit = parseHealth(await (await fetch(`${url}/v1/health`)).json()).limits.maxBodyBytes;
      const headers = { "content-type": "application/x-msgpack", ...(await signRequest(SECRET, { method: "POST", path: "/v1/gradients", body: new Uint8Array(0), nonce: newNonce() })) };
      // Declared over the limit: the answer comes before a byte of the body is sent.
      const declared = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const request = http.request(`${url}/v1/gradients`, { method: "POST", headers: { ...headers, "content-length": String(limit + 1) } }, (response) => {
          let text = "";
          response.setEncoding("utf8").on("data", (s: string) => (text += s)).on("end", () => resolve({ status: response.statusCode!, body: text }));
        });
        request.on("error", reject);
        request.flushHeaders();
      });
      expect(declared.status).toBe(413);
      expect((JSON.parse(declared.body) as { error: { code: string } }).error.code).toBe("payload_too_large");
      // Streamed without a length (chunked), on a connection of its own: cut off once past the
      // limit, or the connection is closed while the body is still being sent.
      const chunk = new Uint8Array(256 * 1024).fill(0x90);
      const streamedStatus = await new Promise<number | undefined>((resolve) => {
        const request = http.request(`${url}/v1/gradients`, { method: "POST", agent: false, headers }, (response) => {
          response.resume().on("end", () => resolve(response.statusCode)).on("error", () => resolve(response.statusCode));
        });
        request.on("error", () => resolve(undefined));
        let sent = 0;
        const more = (): void => {
          while (sent <= limit + chunk.length) {
            sent += chunk.length;
            if (!request.write(chunk)) return void request.once("drain", more);
          }
          request.end();
        };
        more();
      });
      console.info(`[${runtime}] streamed oversized body: ${streamedStatus ?? "connection closed"}`);
      if (streamedStatus !== undefined) expect(streamedStatus).toBe(413);
      // On a new connection (the coordinator's transport, fresh): a server may close the one it
      // refused a body on (Node does), and fetch would reuse it. The worker itself must still compute.
      const body = gradientsBody(batch);
      const signed = { "content-type": "application/x-msgpack", ...(await signRequest(SECRET, { method: "POST", path: "/v1/gradients", body, nonce: newNonce() })) };
      const transport = new HttpTransport();
      let bytes: Uint8Array;
      try {
        const reply = await transport.request(`${url}/v1/gradients`, { method: "POST", headers: signed, body, signal: AbortSignal.timeout(30_000) });
        bytes = reply.bytes.slice();
        reply.release();
        expect(reply.status, new TextDecoder().decode(bytes).slice(0, 300)).toBe(200);
      } finally {
        transport.close();
      }
      expect(decodeGradientsResponse(bytes).count).toBe(batch.labels.length);
    });

    it("computes the same gradients as core in-process (1e-6 relative)", async () => {
      const reply = decodeGradientsResponse(await okBytes(await post(url, "/v1/gradients", gradientsBody(batch))));
      expect(reply.backend).toBe("wasm");
      expect(reply.count).toBe(M);
      expect(reply.correct).toBe(local.correct);
      expect(relativeDiff([reply.lossSum], [local.lossSum])).toBeLessThanOrEqual(1e-6);
      expect(Array.from(reply.chunks.count.data)).toEqual(Array.from(local.chunks.count));
      expect(reply.gradients, "non-deterministic mode returns one sum per tensor").toBeDefined();
      const worst = worstGradientDiff(reply.gradients!, localGradients);
      expect(worst).toBeLessThanOrEqual(1e-6);
      for (const [name, moments] of Object.entries(local.batchNorm)) {
        expect(relativeDiff(reply.batchNorm[name].mean.data, moments.mean)).toBeLessThanOrEqual(1e-6);
        expect(relativeDiff(reply.batchNorm[name].m2.data, moments.m2)).toBeLessThanOrEqual(1e-6);
      }
      console.info(`[${runtime}] worker vs in-process: max relative gradient difference ${worst.toExponential(2)}`);
    });

    it("returns gradients that agree with the float64 reference (finite differences, ratio < 1e-5)", async () => {
      const reply = decodeGradientsResponse(await okBytes(await post(url, "/v1/gradients", gradientsBody(batch))));
      const analytic: NamedArrays = {};
      for (const p of plan.parameters) analytic[p.name] = reply.gradients![p.name].data.map((g) => g / M);
      const report = compareWithCost(plan, params, analytic, batch, { step: STEP, seed: SEED, chunkSize: CHUNK });
      expect(report.ratio, JSON.stringify(report.worst)).toBeLessThan(1e-5);
    });

    it("in deterministic mode, returns tree blocks that complete to the in-process sum", async () => {
      // Two shards: chunk 0, and chunks 1–2 (the last one partial), as a coordinator would send.
      const total = Math.ceil(M / CHUNK);
      const blocks: { start: number; count: number; value: Float32Array }[] = [];
      const names = plan.parameters.map((p) => p.name);
      for (const [first, end] of [[0, 1], [1, total]] as const) {
        const shard = sliceBatch(plan, batch, first * CHUNK, Math.min(end * CHUNK, M));
        const body = gradientsBody(shard, { deterministic: true, firstChunk: first, totalChunks: total });
        const reply = decodeGradientsResponse(await okBytes(await post(url, "/v1/gradients", body)));
        expect(reply.blocks?.map((b) => [b.start, b.count])).toEqual(alignedBlocks(first, end, total).map((b) => [b.start, b.count]));
        for (const block of reply.blocks!) {
          // One flat vector per block (all tensors concatenated) so that one combine handles them all.
          const flat = new Float32Array(names.reduce((s, n) => s + block.gradients[n].data.length, 0));
          let offset = 0;
          for (const n of names) {
            flat.set(block.gradients[n].data, offset);
            offset += block.gradients[n].data.length;
          }
          blocks.push({ start: block.start, count: block.count, value: flat });
        }
      }
      const combined = combineBlocks(blocks, total, addFloat32);
      let offset = 0, worst = 0;
      for (const n of names) {
        const want = localGradients[n];
        worst = Math.max(worst, relativeDiff(combined.subarray(offset, offset + want.length), want));
        offset += want.length;
      }
      expect(worst).toBeLessThanOrEqual(1e-6);
    });

    it("evaluates like core in-process (inference mode, running statistics)", async () => {
      const state = initBatchNormState(plan);
      const want = await evaluate(plan, params, state, batch, { chunkSize: CHUNK, outputs: true });
      const body = encode({
        protocol: 1,
        model: spec,
        parameters: wireTensors(params),
        batchNorm: wireTensors(state),
        inputs: shardFields(batch).inputs,
        labels: shardFields(batch).labels,
        chunkSize: CHUNK,
        outputs: true,
      }).slice();
      const reply = decodeEvaluateResponse(await okBytes(await post(url, "/v1/evaluate", body)));
      expect(reply.count).toBe(M);
      expect(reply.correct).toBe(want.correct);
      expect(relativeDiff([reply.lossSum], [want.lossSum])).toBeLessThanOrEqual(1e-6);
      expect(relativeDiff(reply.outputs!.data, want.outputs!)).toBeLessThanOrEqual(1e-6);
    });

    // Which backends each runtime has is known (Deno: a software Vulkan adapter, installed by
    // .ci/run; Node and workerd: no navigator.gpu), so each case runs where it applies.
    const hasWebgpu = runtime === "deno";
    it(`reports the backends ${runtime} has`, () => {
      expect(health.backends.includes("webgpu")).toBe(hasWebgpu);
      expect(health.backends).toContain("cpu");
    });

    if (hasWebgpu) it("computes on webgpu within 1e-4 of wasm", async () => {
      const body = gradientsBody(batch, { backend: "webgpu" });
      const reply = decodeGradientsResponse(await okBytes(await post(url, "/v1/gradients", body)));
      expect(reply.backend).toBe("webgpu");
      const worst = worstGradientDiff(reply.gradients!, localGradients);
      console.info(`[${runtime}] webgpu worker vs in-process wasm: max relative gradient difference ${worst.toExponential(2)}`);
      expect(worst).toBeLessThanOrEqual(1e-4);
    });

    if (!hasWebgpu) it("answers a backend it lacks (webgpu) with a 409 naming it", async () => {
      const response = await post(url, "/v1/gradients", gradientsBody(batch, { backend: "webgpu" }));
      expect(response.status).toBe(409);
      const json = (await response.json()) as { error: { message: string } };
      expect(json.error.message).toContain("webgpu");
    });
  });
}
