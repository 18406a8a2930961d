/**
 * Counting a job's traffic (DESIGN.md, `communication`): the HTTP pool counts every send of a pass
 * (retries and hedges too) as the workers see it, and the trainer adds up the training passes of
 * both modes (evaluation left out) into a count that the checkpoint carries across a resume.
 */
import { serve } from "@hono/node-server";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { syntheticDataset } from "../../core/data/mod.ts";
import type { JobCommunication } from "../../core/job/api.ts";
import { parseJobSpec } from "../../core/job/spec.ts";
import { initParameters } from "../../core/model/parameters.ts";
import { parseModelSpec, planModel } from "../../core/model/spec.ts";
import { useBackend } from "../../core/tf.ts";
import type { GradientShard, StepContext, StepTask } from "../../core/work.ts";
import { decode, encode } from "../../core/wire/codec.ts";
import { wireFloat32, wireInt32 } from "../../core/wire/tensor.ts";
import { HttpPool } from "../../coordinator/pool/http-pool.ts";
import { InProcessPool } from "../../coordinator/pool/in-process-pool.ts";
import type { PassResult, PassTraffic, WorkerPool } from "../../coordinator/pool/worker-pool.ts";
import { prepareData } from "../../coordinator/training/prepared-data.ts";
import { train, type TrainEvent, type TrainState } from "../../coordinator/training/trainer.ts";
import { createApp } from "../../edge-functions/app.ts";
import { randomBatch } from "../helpers/batches.ts";

const SECRET = "communication-test-secret-0123456789";

/** A worker (the edge-function app on loopback) that counts the body bytes of every POST and its reply. */
interface CountingWorker {
  readonly url: string;
  /** Answer POSTs with a fast 500 instead of serving them. */
  failing: boolean;
  /** Hold POSTs unanswered until `release` (a straggler). */
  holding: boolean;
  seen: { requests: number; bytesIn: number; bytesOut: number };
  release(): void;
  close(): Promise<void>;
}

async function startCountingWorker(): Promise<CountingWorker> {
  const app = createApp({ runtime: "test", secret: SECRET });
  const held: (() => void)[] = [];
  const worker: CountingWorker = {
    url: "", failing: false, holding: false, seen: { requests: 0, bytesIn: 0, bytesOut: 0 },
    release: () => held.splice(0).forEach((resume) => resume()),
    close: async () => {},
  };
  const server = serve({
    fetch: async (request: Request) => {
      if (request.method !== "POST") return app.fetch(request);
      const body = new Uint8Array(await request.arrayBuffer());
      worker.seen.requests++;
      worker.seen.bytesIn += body.byteLength;
      if (worker.holding) await new Promise<void>((resolve) => held.push(resolve));
      const response = worker.failing
        ? Response.json({ error: { code: "injected", message: "injected failure" } }, { status: 500 })
        : await app.fetch(new Request(request.url, { method: "POST", headers: request.headers, body }));
      const reply = new Uint8Array(await response.arrayBuffer());
      worker.seen.bytesOut += reply.byteLength;
      return new Response(reply, { status: response.status, headers: response.headers });
    },
    port: 0,
    hostname: "127.0.0.1",
  });
  await new Promise<void>((resolve) => server.once("listening", resolve));
  return Object.assign(worker, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      worker.release();
      (server as unknown as { closeAllConnections(): void }).closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  });
}

const modelSpec = { input: [3], layers: [{ type: "dense", units: 4 }, { type: "relu" }, { type: "dense", units: 2 }], output: "softmax" };
const plan = planModel(parseModelSpec(modelSpec));
const batch = randomBatch(plan, 8, 1);
const params = initParameters(plan, 3);
const context: StepContext = { model: parseModelSpec(modelSpec), parameters: Object.fromEntries(plan.parameters.map((p) => [p.name, wireFloat32(params[p.name], p.shape)])), chunkSize: 4, step: 0, seed: 0, deterministic: false, totalChunks: 2 };
const oneShard: GradientShard = {
  inputs: wireFloat32(batch.inputs, [8, 3]),
  labels: wireInt32(batch.labels as Int32Array, [8]),
  indices: wireInt32(Int32Array.from(batch.indices), [8]),
  firstChunk: 0,
};
const step = (shards: number): StepTask => ({ context, shards: Array.from({ length: shards }, () => oneShard) });

let workers: CountingWorker[] = [];
const pools: HttpPool[] = [];

beforeAll(async () => {
  await useBackend("wasm");
  workers = await Promise.all([startCountingWorker(), startCountingWorker()]);
});

afterEach(() => {
  for (const pool of pools.splice(0)) pool.close();
  for (const w of workers) {
    w.release();
    Object.assign(w, { failing: false, holding: false, seen: { requests: 0, bytesIn: 0, bytesOut: 0 } });
  }
});

afterAll(async () => {
  await Promise.all(workers.map((w) => w.close()));
});

async function poolOf(urls: string[], options: ConstructorParameters<typeof HttpPool>[1] = {}): Promise<HttpPool> {
  const pool = new HttpPool(urls, { secret: SECRET, ...options });
  pools.push(pool);
  await pool.start();
  return pool;
}

/** What the workers saw, as a pass's traffic. */
function seenByWorkers(): PassTraffic {
  return {
    requests: workers.reduce((a, w) => a + w.seen.requests, 0),
    bytesSent: workers.reduce((a, w) => a + w.seen.bytesIn, 0),
    bytesReceived: workers.reduce((a, w) => a + w.seen.bytesOut, 0),
  };
}

describe("the HTTP pool's traffic per pass", () => {
  it("is the body bytes the workers received and the reply bytes they sent, one request per shard", async () => {
    const pool = await poolOf(workers.map((w) => w.url));
    const pass = await pool.runStep(step(4), { signal: new AbortController().signal });
    expect(pass.outcomes.every((o) => o.ok)).toBe(true);
    expect(pass.traffic.requests).toBe(4);
    expect(pass.traffic.bytesSent).toBeGreaterThan(4 * 8 * 3 * 4); // at least the shards' inputs as float32
    expect(pass.traffic).toEqual(seenByWorkers());
  });

  it("counts every retry: a failed send costs its body and its error reply", async () => {
    workers[0].failing = true;
    const pool = await poolOf([workers[0].url, workers[1].url], { retries: 3, concurrency: 1, unhealthyAfter: 100 });
    const pass = await pool.runStep(step(2), { signal: new AbortController().signal });
    expect(pass.outcomes.every((o) => o.ok)).toBe(true);
    expect(workers[0].seen.requests).toBeGreaterThan(0);
    expect(pass.traffic.requests).toBe(2 + workers[0].seen.requests);
    expect(pass.traffic).toEqual(seenByWorkers());
  });

  it("counts a hedge's send, and only the replies that were read", async () => {
    const pool = await poolOf([workers[0].url, workers[1].url], { hedgeMinMs: 50, hedgeMultiple: 2 });
    const signal = new AbortController().signal;
    // Fast passes teach the pool a median; then worker 0 holds its requests unanswered.
    for (let i = 0; i < 4; i++) await pool.runStep(step(2), { signal });
    for (const w of workers) w.seen = { requests: 0, bytesIn: 0, bytesOut: 0 };
    workers[0].holding = true;
    const pass = await pool.runStep(step(2), { signal });
    expect(pass.outcomes.every((o) => o.ok)).toBe(true);
    expect(pool.status().find((w) => w.url === workers[0].url)!.hedged).toBeGreaterThan(0);
    expect(workers[0].seen.requests).toBeGreaterThan(0);
    // The held sends went out and are counted; their replies were never written, nor counted.
    expect(pass.traffic.requests).toBe(2 + workers[0].seen.requests);
    expect(pass.traffic).toEqual(seenByWorkers());
  });
});

/** The in-process pool, each pass reporting a made-up traffic: 1,000 bytes out and 100 back per shard; evaluation 10^9. */
function meteredPool(): WorkerPool {
  const inner = new InProcessPool({ workers: 2 });
  const perShard = <T>(pass: PassResult<T>, bytes: number): PassResult<T> => ({
    ...pass,
    traffic: { requests: pass.outcomes.length, bytesSent: bytes * pass.outcomes.length, bytesReceived: (bytes / 10) * pass.outcomes.length },
  });
  return {
    capacity: () => ({ workers: 2, limits: {} }),
    status: () => inner.status(),
    runStep: async (t, o) => perShard(await inner.runStep(t, o), 1_000),
    runRound: async (t, o) => perShard(await inner.runRound(t, o), 1_000),
    runEvaluation: async (t, o) => perShard(await inner.runEvaluation(t, o), 1e9),
    forJob: () => meteredPool(),
  };
}

const job = {
  dataset: { id: "builtin:moons" },
  model: { input: [2], layers: [{ type: "dense", units: 8 }, { type: "relu" }, { type: "dense", units: 2 }], output: "softmax" },
  batchSize: 50,
  chunkSize: 25,
  epochs: 3,
  seed: 5,
  checkpointEvery: 2,
};

async function trainCounted(spec: object, resume: TrainState | null = null) {
  const parsed = parseJobSpec(spec);
  const modelPlan = planModel(parsed.model);
  const data = prepareData(syntheticDataset("moons", { seed: 1, examples: 300 }), parsed, modelPlan);
  const events: TrainEvent[] = [];
  const checkpoints: TrainState[] = [];
  await train({
    spec: parsed, plan: modelPlan, data, pool: meteredPool(), signal: new AbortController().signal,
    // Through the codec, as the store keeps it (the trainer's arrays go on changing after the call).
    emit: (e) => events.push(e), checkpoint: async (s) => void checkpoints.push(decode(encode(s).slice()) as TrainState), resume,
  });
  const reports = events.flatMap((e) => (e.type === "communication" ? [e.communication] : []));
  return { reports, checkpoints, last: reports.at(-1)!, trainRows: data.train.shape[0] };
}

describe("the trainer's count", () => {
  it("adds up the training passes of sync steps, not evaluation, and the checkpoint carries it to a resume", async () => {
    const { reports, checkpoints, last, trainRows } = await trainCounted(job);
    // 180 training rows in batches of 50 (chunks of 25) on 2 workers: per epoch 4 steps of 2 shards each.
    expect(trainRows).toBe(180);
    const shards = 3 * 4 * 2;
    expect(last).toEqual<JobCommunication>({ requests: shards, bytesSent: 1_000 * shards, bytesReceived: 100 * shards, bytesPerExample: (1_100 * shards) / (3 * 180) });
    expect(reports[0]).toEqual({ requests: 0, bytesSent: 0, bytesReceived: 0, bytesPerExample: null });
    // Every checkpoint holds the count so far; resuming from one ends with the uninterrupted count.
    const middle = checkpoints[2];
    expect(middle.communication!.requests).toBeGreaterThan(0);
    expect(middle.communication!.requests).toBeLessThan(shards);
    const resumed = await trainCounted(job, middle);
    expect(resumed.reports[0].requests).toBe(middle.communication!.requests);
    expect(resumed.last).toEqual(last);
  });

  it("counts local-mode rounds through the same pool, with every inner step's examples", async () => {
    const local = { ...job, batchSize: 60, chunkSize: 15, checkpointEvery: 0, distribution: { mode: "local", replicas: 3, innerSteps: 2, innerState: "keep" } };
    const { last } = await trainCounted(local);
    // 180 rows: 3 inner steps of 60 per epoch, as rounds of 2 + 1 steps, each a request per replica.
    const requests = 3 * 2 * 3;
    expect(last).toEqual<JobCommunication>({ requests, bytesSent: 1_000 * requests, bytesReceived: 100 * requests, bytesPerExample: (1_100 * requests) / (3 * 180) });
  });
});
