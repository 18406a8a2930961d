/**
 * The HTTP pool's retry, hedging and waiting rules against real workers (the edge-function app
 * served over loopback HTTP from this process) whose POSTs a switch can turn into fast 500s or
 * requests that are never answered: a fast failure goes straight to the retry loop, every send
 * (hedges too) counts against `retries`, waiting for a slot leaves no listener behind, and the
 * timeout and retries of a job are its own even when jobs share the pool's workers.
 */
import { serve } from "@hono/node-server";
import { mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { getEventListeners } from "node:events";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DatasetRegistry } from "../../coordinator/datasets/registry.ts";
import { JobManager } from "../../coordinator/jobs/job-manager.ts";
import { HttpPool } from "../../coordinator/pool/http-pool.ts";
import type { ShardOutcome, WorkerPool } from "../../coordinator/pool/worker-pool.ts";
import { FileStore } from "../../coordinator/store/file-store.ts";
import { initParameters } from "../../core/model/parameters.ts";
import { parseModelSpec, planModel } from "../../core/model/spec.ts";
import type { GradientShardResult } from "../../core/shard.ts";
import { useBackend } from "../../core/tf.ts";
import type { GradientShard, StepContext, StepTask } from "../../core/work.ts";
import { wireFloat32, wireInt32 } from "../../core/wire/tensor.ts";
import { createApp } from "../../edge-functions/app.ts";
import { randomBatch } from "../helpers/batches.ts";

const SECRET = "http-pool-test-secret-0123456789";

/** A worker whose POSTs can be served, failed at once with a 500, or held unanswered. */
interface TestWorker {
  readonly url: string;
  mode: "serve" | "fail" | "hold";
  /** POSTs received. */
  posts: number;
  close(): Promise<void>;
}

async function startTestWorker(): Promise<TestWorker> {
  const app = createApp({ runtime: "test", secret: SECRET });
  const held: (() => void)[] = [];
  const worker = { url: "", mode: "serve" as TestWorker["mode"], posts: 0, close: async () => {} };
  const server = serve({
    fetch: async (request: Request) => {
      if (request.method !== "POST") return app.fetch(request);
      worker.posts++;
      if (worker.mode === "fail") return Response.json({ error: { code: "injected", message: "injected failure" } }, { status: 500 });
      if (worker.mode === "hold") await new Promise<void>((resolve) => held.push(resolve));
      return app.fetch(request);
    },
    port: 0,
    hostname: "127.0.0.1",
  });
  await new Promise<void>((resolve) => server.once("listening", resolve));
  worker.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  worker.close = async () => {
    for (const release of held.splice(0)) release();
    (server as unknown as { closeAllConnections(): void }).closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
  return worker;
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

/** A step of `shards` copies of one shard. */
function step(shards = 1): StepTask {
  return { context, shards: Array.from({ length: shards }, () => oneShard) };
}

/** Runs a step of one shard; its outcome. */
async function shard(pool: WorkerPool, signal = new AbortController().signal): Promise<ShardOutcome<GradientShardResult>> {
  return (await pool.runStep(step(), { signal })).outcomes[0];
}

/** `promise`, or a rejection saying `what` did not happen within `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms)));
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

let workers: TestWorker[] = [];
const cleanups: (() => unknown)[] = [];

beforeAll(async () => {
  await useBackend("wasm");
  workers = await Promise.all([startTestWorker(), startTestWorker()]);
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  for (const w of workers) {
    w.mode = "serve";
    w.posts = 0;
  }
});

afterAll(async () => {
  await Promise.all(workers.map((w) => w.close()));
});

/** A started pool over `urls`, closed after the test. */
async function startPool(urls: readonly string[], options: ConstructorParameters<typeof HttpPool>[1]): Promise<HttpPool> {
  const pool = new HttpPool(urls, { secret: SECRET, ...options });
  cleanups.push(() => pool.close());
  await pool.start();
  return pool;
}

/** Sends `count` shards one after the other, so that the pool learns a median latency. */
async function warmUp(pool: HttpPool, count = 4): Promise<void> {
  for (let i = 0; i < count; i++) {
    const outcome = await shard(pool);
    expect(outcome.ok, outcome.ok ? "" : outcome.error.message).toBe(true);
  }
}

describe("retries and hedges", () => {
  it("sends a fast failure to the retry loop at once instead of waiting for the hedge timer", async () => {
    const [a, b] = workers;
    // A hedge timer far beyond the deadline below: only an immediate retry can meet it.
    const pool = await startPool([a.url, b.url], { retries: 1, hedgeMinMs: 60_000 });
    await warmUp(pool);
    a.mode = "fail";
    a.posts = b.posts = 0;
    // Both workers are idle: the first in the list gets the shard, fails in a few ms, and the retry goes to the other.
    const outcome = await within(shard(pool), 10_000, "the failed shard was retried");
    expect(outcome.ok, outcome.ok ? "" : outcome.error.message).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.worker).toBe(b.url);
    expect([a.posts, b.posts]).toEqual([1, 1]);
  });

  it("counts every send against retries: with retries 0 a failure is final and no hedge is sent", async () => {
    const [a, b] = workers;
    const pool = await startPool([a.url, b.url], { retries: 0, hedgeMinMs: 60_000 });
    await warmUp(pool);
    a.mode = "fail";
    a.posts = b.posts = 0;
    const failed = await within(shard(pool), 10_000, "the failure was reported");
    expect(failed.ok).toBe(false);
    if (failed.ok) return;
    expect(failed.error.code).toBe("retries_exhausted");
    expect(failed.error.message).toMatch(/gave up after 1 attempt.*HTTP 500 injected/);
    expect([a.posts, b.posts]).toEqual([1, 0]);

    // A straggler is not hedged either when the budget is spent: its timeout decides.
    const patient = await startPool([a.url, b.url], { retries: 0, hedgeMinMs: 1, timeoutMs: 600 });
    a.mode = "serve";
    await warmUp(patient);
    a.mode = "hold";
    a.posts = b.posts = 0;
    const late = await within(shard(patient), 10_000, "the timeout was reported");
    expect(late.ok).toBe(false);
    if (late.ok) return;
    expect(late.error.message).toMatch(/gave up after 1 attempt.*timed out after 600 ms/);
    expect([a.posts, b.posts]).toEqual([1, 0]);
  });
});

describe("waiting for a slot", () => {
  it("leaves no abort listener on the caller's signal, however many times a shard waited", async () => {
    const pool = await startPool([workers[0].url], { concurrency: 1 });
    const signal = new AbortController().signal;
    // One slot and a step of 24 shards: each waits for up to 23 releases before its turn.
    const { outcomes } = await pool.runStep(step(24), { signal });
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(workers[0].posts).toBe(24);
    expect(getEventListeners(signal, "abort")).toHaveLength(0);
  });
});

describe("per-job timeout and retries", () => {
  it("gives each view of a shared pool its own timeout and retries", async () => {
    const [a] = workers;
    const pool = await startPool([a.url], { timeoutMs: 10_000, retries: 3 });
    a.mode = "hold";
    const quick = await within(shard(pool.forJob({ timeoutMs: 150, retries: 0 })), 8_000, "the first view's timeout");
    expect(quick.ok ? "" : quick.error.message).toMatch(/gave up after 1 attempt.*timed out after 150 ms/);
    expect(a.posts).toBe(1);
    const other = await within(shard(pool.forJob({ timeoutMs: 250, retries: 1 })), 8_000, "the second view's timeout");
    expect(other.ok ? "" : other.error.message).toMatch(/gave up after 2 attempts.*timed out after 250 ms/);
    expect(a.posts).toBe(3);
  });

  it("runs two jobs on the coordinator's default workers with their own workers.timeoutMs and workers.retries", async () => {
    const [a] = workers;
    a.mode = "hold";
    const dir = await mkdtemp(join(tmpdir(), "edgeprop-pool-jobs-"));
    const store = new FileStore(dir);
    const jobs = new JobManager({ store, registry: new DatasetRegistry(store), defaultWorkers: [a.url], workerSecret: SECRET });
    cleanups.push(() => rm(dir, { recursive: true, force: true }), () => jobs.shutdown());
    // As the server does at start: the default workers' pool exists before any job names a timeout.
    await jobs.warm();
    // One chunk per step, so each step is one shard.
    const job = (workersSpec: object) => ({
      dataset: { id: "builtin:moons" },
      model: { input: [2], layers: [{ type: "dense", units: 2 }], output: "softmax" },
      batchSize: 16,
      chunkSize: 16,
      epochs: 1,
      workers: workersSpec,
    });
    const finish = async (spec: object) => {
      const record = await jobs.submit(spec);
      await within(jobs.settled(record.id), 8_000, `job ${JSON.stringify(spec)} ended`);
      return (await jobs.get(record.id))!;
    };
    const first = await finish(job({ timeoutMs: 150, retries: 0 }));
    expect(first.status).toBe("failed");
    expect(first.error).toMatch(/gave up after 1 attempt.*timed out after 150 ms/);
    expect(a.posts).toBe(1);
    const second = await finish(job({ timeoutMs: 250, retries: 1 }));
    expect(second.status).toBe("failed");
    expect(second.error).toMatch(/gave up after 2 attempts.*timed out after 250 ms/);
    expect(a.posts).toBe(3);
  });
});
