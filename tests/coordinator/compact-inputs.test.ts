/**
 * Compact inputs (DESIGN.md, "Compact inputs"): training requests carry each example as one-byte
 * codes into the dataset's table of distinct values, and the worker looks them up and normalizes
 * them to the bits the coordinator used to send in float32. Checked at three levels: the codes
 * against the normalized split, a worker's reply to a uint8 request against the float32 request of
 * the same rows, and whole jobs (sync and local, with augmentation, through real HTTP) against the
 * same data without codes.
 */
import { serve } from "@hono/node-server";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeInputs, fitInputCodes, loadMnist } from "../../core/data/mod.ts";
import { parseJobSpec } from "../../core/job/spec.ts";
import { initParameters } from "../../core/model/parameters.ts";
import { planModel } from "../../core/model/spec.ts";
import { computeRoundShard } from "../../core/round.ts";
import { computeGradientShard } from "../../core/shard.ts";
import { useBackend } from "../../core/tf.ts";
import { PROTOCOL } from "../../core/wire/messages.ts";
import { wireFloat32, wireFloat64, wireInt32, wireTensors } from "../../core/wire/tensor.ts";
import { HttpPool } from "../../coordinator/pool/http-pool.ts";
import { InProcessPool } from "../../coordinator/pool/in-process-pool.ts";
import type { WorkerPool } from "../../coordinator/pool/worker-pool.ts";
import { gatherBatch, inputDecoding, wireRows } from "../../coordinator/training/gather-batch.ts";
import { type PreparedData, prepareData } from "../../coordinator/training/prepared-data.ts";
import { train, type TrainEvent } from "../../coordinator/training/trainer.ts";
import { createApp } from "../../edge-functions/app.ts";

const SECRET = "compact-inputs-test-secret-0123456789";
const model = {
  input: [784],
  layers: [{ type: "dense", units: 16 }, { type: "batchnorm" }, { type: "relu" }, { type: "dropout", keepProb: 0.8 }, { type: "dense", units: 10 }],
  output: "softmax",
};
const baseJob = {
  dataset: { id: "builtin:mnist", split: { train: 0.8, dev: 0.2, test: 0 } },
  model,
  optimizer: { type: "adam", learningRate: 0.01 },
  batchSize: 40,
  chunkSize: 10,
  epochs: 2,
  seed: 9,
  deterministic: true,
};

let digits: Awaited<ReturnType<typeof loadMnist>>;
let server: ReturnType<typeof serve>;
let url = "";
/** A worker as one from before input codes: its health reply has no `inputCodes`. */
let older: ReturnType<typeof serve>;
let olderUrl = "";

beforeAll(async () => {
  await useBackend("cpu");
  digits = await loadMnist({ examples: 400 });
  const app = createApp({ runtime: "test", secret: SECRET });
  server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise<void>((resolve) => server.once("listening", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  older = serve({
    fetch: async (request: Request) => {
      const response = await app.fetch(request);
      if (new URL(request.url).pathname !== "/v1/health") return response;
      const { inputCodes: _, ...health } = await response.json();
      return Response.json(health, { status: response.status });
    },
    port: 0,
    hostname: "127.0.0.1",
  });
  await new Promise<void>((resolve) => older.once("listening", resolve));
  olderUrl = `http://127.0.0.1:${(older.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  for (const s of [server, older]) {
    (s as unknown as { closeAllConnections(): void }).closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

/** A pool that records the dtype of every shard's inputs before passing the task on. */
function recording(pool: WorkerPool, dtypes: string[]): WorkerPool {
  return {
    capacity: () => pool.capacity(),
    status: () => pool.status(),
    forJob: (policy) => recording(pool.forJob(policy), dtypes),
    runStep: (task, options) => (task.shards.forEach((s) => dtypes.push(s.inputs.dtype)), pool.runStep(task, options)),
    runEvaluation: (task, options) => pool.runEvaluation(task, options),
    runRound: (task, options) => (task.shards.forEach((s) => dtypes.push(s.inputs.dtype)), pool.runRound(task, options)),
  };
}

async function trainWith(job: object, pool: WorkerPool, withoutCodes = false) {
  const spec = parseJobSpec(job);
  const plan = planModel(spec.model);
  const prepared = prepareData(digits, spec, plan);
  const data: PreparedData = withoutCodes ? { ...prepared, inputCodes: null } : prepared;
  const dtypes: string[] = [];
  const events: TrainEvent[] = [];
  const result = await train({
    spec, plan, data, pool: recording(pool, dtypes), signal: new AbortController().signal, emit: (e) => events.push(e), checkpoint: async () => {},
  });
  const communication = events.flatMap((e) => (e.type === "communication" ? [e.communication] : [])).at(-1)!;
  return { result, dtypes: [...new Set(dtypes)], communication };
}

function expectSameBits(a: Record<string, Float32Array>, b: Record<string, Float32Array>) {
  expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
  for (const name of Object.keys(a)) {
    expect(Buffer.from(a[name].buffer, a[name].byteOffset, a[name].byteLength).equals(Buffer.from(b[name].buffer, b[name].byteOffset, b[name].byteLength)), name).toBe(true);
  }
}

describe("input codes", () => {
  it("code builtin MNIST in one byte a pixel and decode to the normalized split's bits", () => {
    const spec = parseJobSpec({ ...baseJob, dataset: { ...baseJob.dataset, normalize: "standardize" } });
    const data = prepareData(digits, spec, planModel(spec.model));
    const codes = data.inputCodes!;
    expect(codes.values.length).toBeLessThanOrEqual(256);
    const decoded = decodeInputs(codes.codes, codes.values, data.normalization);
    expect(Buffer.from(decoded.buffer).equals(Buffer.from(data.train.features.buffer, data.train.features.byteOffset, data.train.features.byteLength))).toBe(true);
  });

  it("decode to the split's bits with minmax scaling and with no normalization too, whose context then has no statistics", () => {
    for (const normalize of ["minmax", "none"] as const) {
      const spec = parseJobSpec({ ...baseJob, dataset: { ...baseJob.dataset, normalize } });
      const data = prepareData(digits, spec, planModel(spec.model));
      const decoded = decodeInputs(data.inputCodes!.codes, data.inputCodes!.values, data.normalization);
      expect(Buffer.from(decoded.buffer).equals(Buffer.from(data.train.features.buffer, data.train.features.byteOffset, data.train.features.byteLength)), normalize).toBe(true);
      expect(inputDecoding(data).inputNormalization?.kind, normalize).toBe(normalize === "none" ? undefined : "minmax");
    }
  });

  it("are null past 256 distinct values or with augmentation noise, keep −0 apart from 0, and put +0 first for shifts", () => {
    expect(fitInputCodes(Float32Array.from({ length: 300 }, (_, i) => i))).toBeNull();
    expect(fitInputCodes(Float32Array.from({ length: 256 }, (_, i) => i))!.values.length).toBe(256);
    const signed = fitInputCodes(Float32Array.of(3, -0, 0, 1.5, 3))!;
    expect(Array.from(signed.values, (x) => Object.is(x, -0) ? "-0" : String(x))).toEqual(["-0", "0", "1.5", "3"]);
    expect(Array.from(signed.codes)).toEqual([3, 0, 1, 2, 3]);
    expect(Array.from(fitInputCodes(Float32Array.of(5, -1), { zeroFirst: true })!.values)).toEqual([0, -1, 5]);
    const spec = parseJobSpec({ ...baseJob, dataset: { ...baseJob.dataset, augment: { noise: 0.1 } } });
    expect(prepareData(digits, spec, planModel(spec.model)).inputCodes).toBeNull();
  });
});

describe("a worker given codes", () => {
  const spec = parseJobSpec({ ...baseJob, dataset: { ...baseJob.dataset, augment: { flipHorizontal: true, shift: 2 } } });
  const plan = planModel(spec.model);
  const params = initParameters(plan, 1);
  const parameters = wireTensors(plan.parameters, params);
  const batchNorm = wireTensors(plan.batchNormState, Object.fromEntries(plan.batchNormState.map((p) => [p.name, new Float32Array(p.shape[0]).fill(p.name.endsWith("variance") ? 1 : 0)])));

  it("answers a gradients and a round request with the bits of the float32 request of the same (augmented) rows", async () => {
    const data = prepareData(digits, spec, plan);
    const rows = Int32Array.from({ length: 20 }, (_, i) => (i * 7) % data.train.shape[0]);
    const batch = gatherBatch(data, rows, spec, 1, spec.seed);
    expect(batch.codes).not.toBeNull();
    const n = plan.inputSize;
    const common = { protocol: PROTOCOL as typeof PROTOCOL, model: plan.spec, parameters, labels: wireInt32(batch.labels as Int32Array, [20]), indices: wireInt32(rows, [20]), chunkSize: 10, step: 4, seed: spec.seed, deterministic: true };
    const gradients = { ...common, firstChunk: 0, totalChunks: 2 };
    const asFloat = await computeGradientShard({ ...gradients, inputs: wireFloat32(batch.inputs, [20, n]) });
    const asCodes = await computeGradientShard({ ...gradients, ...inputDecoding(data), inputs: wireRows(batch, 0, 20, n, true) });
    expect(asCodes).toEqual(asFloat);
    const round = {
      ...common, batchNorm, optimizer: spec.optimizer, stepExamples: wireInt32(Int32Array.of(10, 10), [2]),
      learningRates: wireFloat64(Float64Array.of(0.01, 0.005), [2]), penaltyExamples: wireInt32(Int32Array.of(20, 20), [2]),
    };
    const roundFloat = await computeRoundShard({ ...round, inputs: wireFloat32(batch.inputs, [20, n]) });
    const roundCodes = await computeRoundShard({ ...round, ...inputDecoding(data), inputs: wireRows(batch, 0, 20, n, true) });
    const data32 = (tensors: Record<string, { data: Float32Array }>) => Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, t.data]));
    expectSameBits(data32(roundCodes.parameters), data32(roundFloat.parameters));
    expectSameBits(data32(roundCodes.batchNorm), data32(roundFloat.batchNorm));
    expect(roundCodes).toEqual(roundFloat);
  });

  it("refuses bad decoding fields with a 400-style error naming the field", async () => {
    const data = prepareData(digits, spec, plan);
    const rows = Int32Array.from({ length: 10 }, (_, i) => i);
    const batch = gatherBatch(data, rows, spec, 0, spec.seed);
    const n = plan.inputSize;
    const decoding = inputDecoding(data);
    const request = { protocol: PROTOCOL, model: plan.spec, parameters, labels: wireInt32(batch.labels as Int32Array, [10]), indices: wireInt32(rows, [10]), chunkSize: 10, step: 0, seed: 0, ...decoding, inputs: wireRows(batch, 0, 10, n, true) };
    const std = decoding.inputNormalization!.kind === "standardize" ? decoding.inputNormalization!.std : null;
    const cases: [string, object][] = [
      ["inputValues", { ...request, inputs: wireFloat32(batch.inputs, [10, n]) }],
      ["inputs.data", { ...request, inputValues: wireFloat32(Float32Array.of(0, 1), [2]) }],
      ["inputValues.shape", { ...request, inputValues: wireFloat32(new Float32Array(257), [257]) }],
      ["inputNormalization.mean.shape", { ...request, inputNormalization: { kind: "standardize", mean: wireFloat32(new Float32Array(3), [3]), std } }],
      ["inputNormalization.std.data", { ...request, inputNormalization: { kind: "standardize", mean: wireFloat32(new Float32Array(n), [n]), std: wireFloat32(new Float32Array(n), [n]) } }],
      ["inputNormalization.kind", { ...request, inputNormalization: { kind: "log" } }],
    ];
    for (const [field, body] of cases) {
      const error = await Promise.resolve().then(() => computeGradientShard(body as never)).catch((e: unknown) => e);
      expect(error, field).toMatchObject({ code: "invalid_field", field });
    }
  });
});

describe("a job", () => {
  const syncJob = { ...baseJob, dataset: { ...baseJob.dataset, augment: { flipHorizontal: true, shift: 2 } } };
  const localJob = { ...baseJob, batchSize: 40, distribution: { mode: "local", replicas: 4, innerSteps: 4, innerState: "keep" } };

  it("in sync mode ends with the same bits with codes (uint8 over HTTP) as with float32 rows, on fewer bytes", async () => {
    const pool = new HttpPool([url], { secret: SECRET });
    await pool.start();
    try {
      const codes = await trainWith(syncJob, pool);
      const floats = await trainWith(syncJob, new InProcessPool(), true);
      expect(codes.dtypes).toEqual(["uint8"]);
      expect(floats.dtypes).toEqual(["float32"]);
      expectSameBits(codes.result.members[0].params, floats.result.members[0].params);
      expectSameBits(codes.result.members[0].batchNorm, floats.result.members[0].batchNorm);
      // Each example's 784 pixels take 1 byte instead of 4; the decoding fields cost ~7 KB a request.
      const floatHttp = await trainWith(syncJob, pool, true);
      const examples = 2 * 320;
      expect(floatHttp.communication.bytesSent - codes.communication.bytesSent).toBeGreaterThan(0.9 * 3 * 784 * examples);
    } finally {
      pool.close();
    }
  }, 120_000);

  it("sends float32 rows, with the same bits, while any worker's health does not say it takes codes", async () => {
    const current = new HttpPool([url], { secret: SECRET });
    const mixed = new HttpPool([url, olderUrl], { secret: SECRET });
    await Promise.all([current.start(), mixed.start()]);
    try {
      expect(current.capacity().inputCodes).toBe(true);
      expect(mixed.capacity()).toMatchObject({ workers: 2, inputCodes: false });
      const codes = await trainWith(syncJob, current);
      const floats = await trainWith(syncJob, mixed);
      expect(codes.dtypes).toEqual(["uint8"]);
      expect(floats.dtypes).toEqual(["float32"]);
      expectSameBits(codes.result.members[0].params, floats.result.members[0].params);
    } finally {
      current.close();
      mixed.close();
    }
  }, 120_000);

  it("in local mode ends with the same bits with codes as with float32 rows, on fewer bytes", async () => {
    const pool = new HttpPool([url], { secret: SECRET });
    await pool.start();
    try {
      const codes = await trainWith(localJob, pool);
      const floats = await trainWith(localJob, pool, true);
      expect(codes.dtypes).toEqual(["uint8"]);
      expect(floats.dtypes).toEqual(["float32"]);
      expectSameBits(codes.result.members[0].params, floats.result.members[0].params);
      expectSameBits(codes.result.members[0].batchNorm, floats.result.members[0].batchNorm);
      expect(floats.communication.bytesSent - codes.communication.bytesSent).toBeGreaterThan(0.9 * 3 * 784 * 2 * 320);
    } finally {
      pool.close();
    }
  }, 120_000);
});
