/**
 * The HTTP pool against real Deno worker processes in trouble: a worker stopped with SIGSTOP (its
 * socket accepts, nothing answers) is routed around after a few steps and taken back after
 * SIGCONT; a worker started with another secret is unhealthy with the reason instead of healthy
 * with every request refused; a retry to the same worker after a lost reply is signed afresh, so
 * the worker's replay check never refuses it.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DatasetRegistry } from "../../coordinator/datasets/registry.ts";
import { JobManager } from "../../coordinator/jobs/job-manager.ts";
import { HttpPool } from "../../coordinator/pool/http-pool.ts";
import type { WorkerStatus } from "../../coordinator/pool/worker-pool.ts";
import { FileStore } from "../../coordinator/store/file-store.ts";
import { initParameters } from "../../core/model/parameters.ts";
import { parseModelSpec, planModel } from "../../core/model/spec.ts";
import type { GradientsRequestInput } from "../../core/wire/messages.ts";
import { randomBatch } from "../helpers/batches.ts";
import { gradientsRequest, runOne, stepTaskOf } from "../helpers/wire-fixtures.ts";
import { startWorker, type WorkerProcess } from "../helpers/worker-process.ts";

const SECRET = "pool-e2e-secret-" + Math.random().toString(36).slice(2);

const modelSpec = { input: [3], layers: [{ type: "dense", units: 8 }, { type: "relu" }, { type: "dense", units: 2 }], output: "softmax" };
const plan = planModel(parseModelSpec(modelSpec));
const request: GradientsRequestInput = gradientsRequest(plan, modelSpec, initParameters(plan, 3), randomBatch(plan, 16, 1), { chunkSize: 8, step: 0, seed: 0 });
const oneShard = stepTaskOf(request);
/** A step of two shards, as a job on two workers sends. */
const twoShards = { context: oneShard.context, shards: [oneShard.shards[0], oneShard.shards[0]] };

let workers: WorkerProcess[] = [];

beforeAll(async () => {
  workers = await Promise.all([0, 1].map(() => startWorker("deno", { secret: SECRET })));
}, 60_000);

afterAll(async () => {
  for (const w of workers) if (w.child.pid) process.kill(w.child.pid, "SIGCONT");
  await Promise.all(workers.map((w) => w.stop()));
});

/** Polls `check` every 50 ms until it holds, or fails saying `what` after `ms`. */
async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function runSteps(pool: HttpPool, count: number, after: (step: number) => void = () => {}): Promise<string[]> {
  const winners: string[] = [];
  for (let step = 1; step <= count; step++) {
    const { outcomes } = await pool.runStep(twoShards, { signal: new AbortController().signal });
    for (const o of outcomes) {
      expect(o.ok, o.ok ? "" : o.error.message).toBe(true);
      if (o.ok) winners.push(o.worker);
    }
    after(step);
  }
  return winners;
}

describe("a stalled worker", () => {
  it("is routed around after a few steps while stopped (SIGSTOP) and comes back healthy after SIGCONT", async () => {
    const [a, b] = workers;
    const pool = new HttpPool([a.url, b.url], { secret: SECRET, probeIntervalMs: 200, timeoutMs: 3_000 });
    await pool.start();
    const of = (url: string): WorkerStatus => pool.status().find((w) => w.url === url)!;
    try {
      // Both workers take shards, and the pool learns a median latency (the hedge threshold).
      const warm = await runSteps(pool, 4);
      expect(new Set(warm)).toEqual(new Set([a.url, b.url]));
      process.kill(b.child.pid!, "SIGSTOP");
      // Requests sent to the stopped worker: each one was hedged away or timed out.
      const sentToStopped = () => of(b.url).hedged + of(b.url).failures;
      const before = sentToStopped();
      const counts: number[] = [];
      const winners = await runSteps(pool, 12, () => counts.push(sentToStopped() - before));
      expect(winners.every((w) => w === a.url)).toBe(true);
      // A few strikes take it out (unhealthyAfter = 3); the last 8 steps sent it nothing.
      expect(counts[3]).toBeLessThanOrEqual(3);
      expect(counts[11]).toBe(counts[3]);
      expect(of(b.url)).toMatchObject({ healthy: false, error: expect.stringMatching(/requests in a row|health check timed out/) });
      expect(pool.capacity().workers).toBe(1);

      process.kill(b.child.pid!, "SIGCONT");
      await until(() => of(b.url).healthy, 15_000, "the resumed worker was healthy again");
      expect(of(b.url).error).toBeNull();
      const after = await runSteps(pool, 2);
      expect(after).toContain(b.url);
    } finally {
      if (b.child.pid) process.kill(b.child.pid, "SIGCONT");
      pool.close();
    }
  }, 60_000);
});

describe("a worker with the wrong secret", () => {
  it("is unhealthy with 'wrong secret' in the pool status and GET /v1/workers, and gets no shard", async () => {
    const wrong = await startWorker("deno", { secret: "not-the-pool-secret-0123456789" });
    const pool = new HttpPool([wrong.url, workers[0].url], { secret: SECRET });
    const dir = await mkdtemp(join(tmpdir(), "edgeprop-wrong-secret-"));
    const store = new FileStore(dir);
    const jobs = new JobManager({ store, registry: new DatasetRegistry(store), defaultWorkers: [wrong.url, workers[0].url], workerSecret: SECRET });
    try {
      await pool.start();
      const [bad, good] = pool.status();
      expect(bad).toMatchObject({ url: wrong.url, healthy: false, error: expect.stringMatching(/^wrong secret: .*401 unauthorized.*signature does not match/) });
      expect(good).toMatchObject({ healthy: true, error: null });
      const outcome = await runOne(pool, request, new AbortController().signal);
      expect(outcome.ok && outcome.worker).toBe(workers[0].url);
      // What the coordinator's GET /v1/workers returns.
      await jobs.warm();
      const listed = await jobs.workers();
      expect(listed.find((w) => w.url === wrong.url)).toMatchObject({ healthy: false, error: expect.stringMatching(/^wrong secret/) });
      expect(listed.find((w) => w.url === workers[0].url)).toMatchObject({ healthy: true, error: null });
    } finally {
      pool.close();
      await jobs.shutdown();
      await rm(dir, { recursive: true, force: true });
      await wrong.stop();
    }
  });
});

describe("a lost reply", () => {
  it("is retried on the same worker with a fresh signature, which its replay check accepts", async () => {
    // Forwards every POST to the worker, but loses the first reply (a 502 in its place).
    let posts = 0;
    const proxy: Server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string" && k !== "host" && k !== "connection") headers[k] = v;
      const response = await fetch(workers[0].url + req.url, { method: req.method, headers, body: req.method === "POST" ? Buffer.concat(chunks) : undefined });
      const body = Buffer.from(await response.arrayBuffer());
      if (req.method === "POST" && ++posts === 1) {
        res.writeHead(502, { "content-type": "application/json" }).end(JSON.stringify({ error: { code: "lost", message: "reply lost" } }));
        return;
      }
      res.writeHead(response.status, { "content-type": response.headers.get("content-type") ?? "application/octet-stream" }).end(body);
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    const pool = new HttpPool([`http://127.0.0.1:${(proxy.address() as AddressInfo).port}`], { secret: SECRET, retries: 1 });
    try {
      await pool.start();
      const outcome = await runOne(pool, request, new AbortController().signal);
      expect(outcome.ok, outcome.ok ? "" : outcome.error.message).toBe(true);
      expect(posts).toBe(2);
    } finally {
      pool.close();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });
});
