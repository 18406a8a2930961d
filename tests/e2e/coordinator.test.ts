/**
 * The coordinator with real processes: a Deno coordinator and Deno edge workers on loopback.
 * Equivalence across worker counts, worker faults, a coordinator crash, the distributed gradient
 * against finite differences, learning, and bad input.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { syntheticDataset } from "../../core/data/mod.ts";
import { parseJobSpec } from "../../core/job/spec.ts";
import { compareWithCost } from "../../core/model/gradient-check.ts";
import { initParameters } from "../../core/model/parameters.ts";
import { planModel } from "../../core/model/spec.ts";
import { useBackend } from "../../core/tf.ts";
import type { GradientsRequestInput } from "../../core/wire/messages.ts";
import { HttpPool } from "../../coordinator/pool/http-pool.ts";
import { prepareData } from "../../coordinator/training/prepared-data.ts";
import { distributedGradient } from "../../coordinator/training/gradient-step.ts";
import { api, modelParameters, waitForJob } from "../helpers/api.ts";
import { inProcessParameters, runJob } from "../helpers/jobs.ts";
import { startCoordinator } from "../helpers/coordinator-process.ts";
import { startFlakyProxy } from "../helpers/flaky-proxy.ts";
import type { ServerProcess } from "../helpers/server-process.ts";
import { waitFor } from "../helpers/wait.ts";
import { gradientsRequest, runOne } from "../helpers/wire-fixtures.ts";
import { startWorker, type WorkerProcess } from "../helpers/worker-process.ts";

const SECRET = "e2e-secret-" + Math.random().toString(36).slice(2);

/** The deterministic job of the equivalence test: MLP with batch norm, dropout, L2, Adam, inverse-time decay. */
const equivalenceJob = {
  name: "equivalence",
  dataset: { id: "builtin:moons" },
  model: {
    input: [2],
    layers: [
      { type: "dense", units: 16 }, { type: "batchnorm" }, { type: "relu" }, { type: "dropout", keepProb: 0.8 },
      { type: "dense", units: 8 }, { type: "tanh" }, { type: "dense", units: 2 },
    ],
    output: "softmax",
  },
  regularization: { l2: 1e-3 },
  optimizer: { type: "adam", learningRate: 0.01 },
  schedule: { type: "inverseTime", decayRate: 0.1 },
  batchSize: 100,
  chunkSize: 10,
  epochs: 3,
  seed: 7,
  deterministic: true,
};

let workers: WorkerProcess[] = [];
let coordinator: ServerProcess;
let dataDir: string;
const scratch: string[] = [];

beforeAll(async () => {
  await useBackend("wasm");
  workers = await Promise.all([0, 1, 2, 3].map(() => startWorker("deno", { secret: SECRET })));
  dataDir = await mkdtemp(join(tmpdir(), "edgeprop-coord-"));
  coordinator = await startCoordinator({ dataDir, workers: workers.map((w) => w.url), secret: SECRET });
}, 90_000);

afterAll(async () => {
  await coordinator?.stop();
  await Promise.all(workers.map((w) => w.stop()));
  for (const dir of [dataDir, ...scratch]) if (dir) await rm(dir, { recursive: true, force: true });
});

describe("equivalence", () => {
  it("ends with bitwise-identical parameters on 1, 2 and 4 workers and in process", async () => {
    const runs = [];
    for (const count of [1, 2, 4]) {
      runs.push(await runJob(coordinator.url, { ...equivalenceJob, workers: { urls: workers.slice(0, count).map((w) => w.url) } }));
    }
    const [one, two, four] = runs.map((r) => r.params);
    expect(Object.keys(one).length).toBe(7);
    expect(two).toEqual(one);
    expect(four).toEqual(one);
    expect(await inProcessParameters(equivalenceJob, { workers: 3 })).toEqual(one);
    // Training did move the parameters, and the job reports what DESIGN.md promises.
    const record = runs[2].record;
    expect(record.metrics.devError).toBeGreaterThanOrEqual(0);
    expect(record.metrics.devError).toBeLessThan(0.5);
    expect(record.throughput.examplesPerSecond).toBeGreaterThan(0);
    expect(Object.keys(record.timing.breakdown).sort()).toEqual(["compute", "decode", "encode", "optimizer", "plan", "reduce", "transfer"]);
  });
});

describe("worker faults", () => {
  it("survives a killed worker and a worker failing every third request, with the fault-free parameters", async () => {
    const victim = await startWorker("deno", { secret: SECRET });
    const flaky = await startFlakyProxy(workers[0].url, 3);
    try {
      const job = { ...equivalenceJob, epochs: 4, workers: { urls: [workers[1].url, victim.url, flaky.url], retries: 5 } };
      const submitted = await api(coordinator.url, "/v1/jobs", { body: job });
      expect(submitted.status).toBe(201);
      // Kill the victim once training is under way.
      await waitFor(
        async () => (await api(coordinator.url, `/v1/jobs/${submitted.body.id}`)).body,
        (body) => body.progress.epoch >= 1 || body.status !== "running" && body.status !== "queued",
        "the job to finish an epoch",
      );
      await victim.kill();
      const record = await waitForJob(coordinator.url, submitted.body.id);
      expect(record.status, record.error).toBe("succeeded");
      expect(flaky.counts.failed).toBeGreaterThan(0);
      const reference = await inProcessParameters({ ...equivalenceJob, epochs: 4 }, { workers: 3 });
      expect(await modelParameters(coordinator.url, record.id)).toEqual(reference);
      const { body } = await api(coordinator.url, "/v1/workers");
      const dead = body.workers.find((w: any) => w.url === victim.url);
      expect(dead.failures).toBeGreaterThan(0);
    } finally {
      await victim.stop();
      await flaky.close();
    }
  });

  it("re-sends a straggler's shards to an idle worker; the first answer wins and the result is unchanged", async () => {
    // The slow worker answers its first requests quickly (so the pool learns a median), then 1.5 s late.
    const slow = await startFlakyProxy(workers[2].url, 0, { delayMs: 1500, fastRequests: 6 });
    try {
      const job = { ...equivalenceJob, workers: { urls: [workers[3].url, slow.url] } };
      const started = Date.now();
      const { record, params } = await runJob(coordinator.url, job);
      expect(record.status).toBe("succeeded");
      expect(params).toEqual(await inProcessParameters(equivalenceJob, { workers: 3 }));
      const { body } = await api(coordinator.url, "/v1/workers");
      expect(body.workers.find((w: any) => w.url === slow.url).hedged).toBeGreaterThan(0);
      // Without hedging every one of the ~18 slow requests would cost 1.5 s.
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      await slow.close();
    }
  });

  it("runs two jobs at once on one pool", async () => {
    const a = await api(coordinator.url, "/v1/jobs", { body: { ...equivalenceJob, name: "a", workers: { urls: workers.slice(0, 2).map((w) => w.url) } } });
    const b = await api(coordinator.url, "/v1/jobs", { body: { ...equivalenceJob, name: "b", seed: 8, workers: { urls: workers.slice(0, 2).map((w) => w.url) } } });
    const [ra, rb] = await Promise.all([waitForJob(coordinator.url, a.body.id), waitForJob(coordinator.url, b.body.id)]);
    expect([ra.status, rb.status]).toEqual(["succeeded", "succeeded"]);
    expect(await modelParameters(coordinator.url, ra.id)).toEqual(await inProcessParameters(equivalenceJob, { workers: 3 }));
    expect(await modelParameters(coordinator.url, rb.id)).toEqual(await inProcessParameters({ ...equivalenceJob, seed: 8 }, { workers: 3 }));
    expect(a.body.id).toMatch(/^job_[0-9a-f]{28}$/);
  });

  it("does not retry a 4xx: the job fails at once with the worker's message", async () => {
    // A worker whose own limit refuses this model (16 units > 8): every request is a 400.
    const strict = await startWorker("deno", { secret: SECRET, env: { EDGEPROP_MAX_UNITS: "8" } });
    const counter = await startFlakyProxy(strict.url, 0);
    try {
      const submitted = await api(coordinator.url, "/v1/jobs", { body: { ...equivalenceJob, workers: { urls: [counter.url], retries: 5 } } });
      const record = await waitForJob(coordinator.url, submitted.body.id);
      expect(record.status).toBe("failed");
      expect(record.error).toMatch(/HTTP 400 .*model\.layers\[0\]\.units/);
      expect(counter.counts.requests).toBe(1);
    } finally {
      await counter.close();
      await strict.stop();
    }
  });

  it("fails a job with the worker's message when no healthy worker is left", async () => {
    const job = { ...equivalenceJob, workers: { urls: ["http://127.0.0.1:9"], retries: 1, timeoutMs: 1000 } };
    const submitted = await api(coordinator.url, "/v1/jobs", { body: job });
    const record = await waitForJob(coordinator.url, submitted.body.id);
    expect(record.status).toBe("failed");
    expect(record.error).toMatch(/no healthy worker/);
  });
});

describe("coordinator crash", () => {
  it("resumes after SIGKILL from the last checkpoint and ends with the uninterrupted parameters", async () => {
    const job = { ...equivalenceJob, epochs: 12, checkpointEvery: 2 };
    const dir = await mkdtemp(join(tmpdir(), "edgeprop-crash-"));
    scratch.push(dir);
    let second: ServerProcess | null = null;
    const first = await startCoordinator({ dataDir: dir, workers: workers.slice(0, 2).map((w) => w.url), secret: SECRET });
    try {
      const submitted = await api(first.url, "/v1/jobs", { body: job });
      expect(submitted.status).toBe(201);
      await waitFor(async () => {
        const { body } = await api(first.url, `/v1/jobs/${submitted.body.id}`);
        expect(body.status).not.toBe("succeeded"); // must be killed mid-training
        return body.progress.epoch;
      }, (epoch) => epoch >= 3, "the job to reach epoch 3", { intervalMs: 10 });
      await first.kill();
      second = await startCoordinator({ dataDir: dir, workers: workers.slice(0, 2).map((w) => w.url), secret: SECRET });
      expect(second.stdout()).toMatch(/resumed 1 job/);
      const record = await waitForJob(second.url, submitted.body.id);
      expect(record.status, record.error).toBe("succeeded");
      expect(await modelParameters(second.url, record.id)).toEqual(await inProcessParameters(job, { workers: 3 }));
      // The metrics history has each step once, even though some were computed twice.
      const { body: metrics } = await api(second.url, `/v1/jobs/${record.id}/metrics`);
      expect(metrics.steps.map((s: any) => s.step)).toEqual(Array.from({ length: 12 * 6 }, (_, i) => i + 1));
      expect(metrics.epochs.length).toBe(12);
      // Every loss the history shows is that of an uninterrupted run, epochs cut by the crash included.
      const reference = await runJob(coordinator.url, job);
      const { body: uninterrupted } = await api(coordinator.url, `/v1/jobs/${reference.record.id}/metrics`);
      expect(metrics.steps.map((s: any) => s.loss)).toEqual(uninterrupted.steps.map((s: any) => s.loss));
      expect(metrics.epochs.map((e: any) => [e.trainLoss, e.devLoss, e.devError])).toEqual(uninterrupted.epochs.map((e: any) => [e.trainLoss, e.devLoss, e.devError]));
    } finally {
      await first.kill();
      await second?.stop();
    }
  });
});

describe("the distributed gradient", () => {
  it("equals float64 finite differences of the whole cost (ratio < 1e-5)", async () => {
    const spec = parseJobSpec({ ...equivalenceJob, regularization: { l2: 0.05, l1: 0.01 } });
    const plan = planModel(spec.model);
    const pool = new HttpPool(workers.slice(0, 3).map((w) => w.url), { secret: SECRET });
    await pool.start();
    try {
      const data = prepareData(syntheticDataset("moons", { seed: 1, examples: 1000 }), spec, plan);
      const rows = Int32Array.from({ length: 70 }, (_, i) => i * 3);
      const n = plan.inputSize;
      const inputs = new Float32Array(rows.length * n);
      rows.forEach((r, i) => inputs.set(data.train.features.subarray(r * n, r * n + n), i * n));
      const labels = Int32Array.from(rows, (r) => data.train.labels.values[r]);
      const batch = { inputs, labels, indices: rows };
      const params = initParameters(plan, 5);
      const result = await distributedGradient({ spec, plan, pool, signal: new AbortController().signal }, { params, batch, step: 3, seed: 11 });
      const report = compareWithCost(plan, params, result.gradients, batch, { chunkSize: spec.chunkSize, step: 3, seed: 11, regularization: spec.regularization });
      expect(report.ratio).toBeLessThan(1e-5);
      expect(report.withDropout).toBe(true);
    } finally {
      pool.close();
    }
  });
});

describe("the worker pool", () => {
  /** A 2-4-2 MLP's gradient task for 16 examples, parameters from `seed`. */
  function smallTask(seed: number): GradientsRequestInput {
    const spec = { input: [2], layers: [{ type: "dense", units: 4 }, { type: "relu" }, { type: "dense", units: 2 }], output: "softmax" };
    const plan = planModel(parseJobSpec({ ...equivalenceJob, model: spec }).model);
    const batch = { inputs: Float32Array.from({ length: 32 }, (_, i) => Math.sin(i)), labels: Int32Array.from({ length: 16 }, (_, i) => i % 2), indices: Int32Array.from({ length: 16 }, (_, i) => i) };
    return gradientsRequest(plan, spec, initParameters(plan, seed), batch, { chunkSize: 8, step: 0, seed: 1 });
  }

  it("fails a task it cannot encode at once (not retried, no worker asked), and its slot is free again", async () => {
    const pool = new HttpPool([workers[0].url], { secret: SECRET, concurrency: 1 });
    await pool.start();
    try {
      const outcome = await runOne(pool, { ...smallTask(1), step: Symbol("not encodable") } as never, new AbortController().signal);
      expect(outcome.ok).toBe(false);
      if (outcome.ok) return;
      expect(outcome.error).toMatchObject({ code: "bad_request", retriable: false });
      expect(outcome.error.message).toMatch(/cannot encode the request/);
      expect(pool.status()[0]).toMatchObject({ inFlight: 0, failures: 0, healthy: true });
    } finally {
      pool.close();
    }
  });

  it("without a secret sends unsigned requests: an insecure worker serves them with the signed gradients, a signed worker answers 401", async () => {
    const insecure = await startWorker("deno");
    const unsigned = new HttpPool([insecure.url]);
    const refused = new HttpPool([workers[0].url], { retries: 0 });
    const signed = new HttpPool([workers[0].url], { secret: SECRET });
    try {
      await Promise.all([unsigned.start(), refused.start(), signed.start()]);
      const task = smallTask(5);
      const signal = new AbortController().signal;
      const [a, b, c] = await Promise.all([runOne(unsigned, task, signal), runOne(signed, task, signal), runOne(refused, task, signal)]);
      expect(a.ok && b.ok).toBe(true);
      if (!a.ok || !b.ok) return;
      expect(a.value.count).toBe(16);
      // The reply object also carries the worker's timing, which differs from run to run.
      const computed = (value: object) => ({ ...value, timing: undefined });
      expect(computed(a.value)).toEqual(computed(b.value));
      expect(c.ok).toBe(false);
      if (c.ok) return;
      expect(c.error.message).toMatch(/401.*missing x-edgeprop-timestamp/);
    } finally {
      for (const pool of [unsigned, refused, signed]) pool.close();
      await insecure.stop();
    }
  });

  it("gives up on a worker that does not answer within timeoutMs and gets the shard from another", async () => {
    // Every POST to this worker is held 5 s, far past the pool's 400 ms timeout.
    const stalled = await startFlakyProxy(workers[1].url, 0, { delayMs: 5_000 });
    const pool = new HttpPool([stalled.url, workers[0].url], { secret: SECRET, timeoutMs: 400, retries: 2 });
    await pool.start();
    try {
      const started = Date.now();
      const outcome = await runOne(pool, smallTask(3), new AbortController().signal);
      expect(outcome.ok).toBe(true);
      if (!outcome.ok) return;
      expect(outcome.worker).toBe(workers[0].url);
      expect(Date.now() - started).toBeLessThan(4_000);
      expect(pool.status().find((w) => w.url === stalled.url)).toMatchObject({ failures: 1, inFlight: 0 });
      expect(stalled.counts.requests).toBe(1);
    } finally {
      pool.close();
      await stalled.close();
    }
  });
});

describe("learning", () => {
  it("reaches at least 93% dev accuracy on builtin:mnist with a 784-128-10 MLP (batch norm, dropout)", async () => {
    const { record } = await runJob(coordinator.url, {
      name: "mnist",
      dataset: { id: "builtin:mnist" },
      model: {
        input: [784],
        layers: [{ type: "dense", units: 128 }, { type: "batchnorm" }, { type: "relu" }, { type: "dropout", keepProb: 0.8 }, { type: "dense", units: 10 }],
        output: "softmax",
      },
      regularization: { l2: 1e-4 },
      optimizer: { type: "adam", learningRate: 2e-3 },
      schedule: { type: "inverseTime", decayRate: 0.3 },
      batchSize: 64,
      epochs: 12,
      workers: { urls: workers.slice(0, 2).map((w) => w.url) },
    });
    expect(1 - record.metrics.devError).toBeGreaterThanOrEqual(0.93);
    expect(record.metrics.testError).toBeLessThan(0.1);
  }, 180_000);

  it("moves the spirals verdict from high bias (logistic regression) to good fit (a deeper net)", async () => {
    const base = { dataset: { id: "builtin:spirals" }, batchSize: 64, chunkSize: 32, seed: 42 };
    const logistic = await runJob(coordinator.url, { ...base, model: { input: [2], layers: [{ type: "dense", units: 2 }], output: "softmax" }, optimizer: { type: "adam", learningRate: 0.05 }, epochs: 30 });
    expect(logistic.record.diagnosis.verdict).toBe("high bias");
    expect(logistic.record.diagnosis.avoidableBias).toBeGreaterThan(0.2);
    const deep = await runJob(coordinator.url, {
      ...base,
      model: {
        input: [2],
        layers: [{ type: "dense", units: 64 }, { type: "relu" }, { type: "dense", units: 64 }, { type: "relu" }, { type: "dense", units: 64 }, { type: "relu" }, { type: "dense", units: 2 }],
        output: "softmax",
      },
      optimizer: { type: "adam", learningRate: 0.01 },
      epochs: 150,
    });
    expect(deep.record.diagnosis.verdict).toBe("good fit");
    expect(deep.record.metrics.devError).toBeLessThan(0.03);
  }, 180_000);
});

describe("bad input", () => {
  const model = { input: [2], layers: [{ type: "dense", units: 2 }], output: "softmax" };
  const cases: Array<[string, { raw?: string; body?: unknown; path?: string; contentType?: string }, RegExp]> = [
    ["malformed JSON", { raw: "{\"name\": " }, /not valid JSON/],
    ["an unknown field", { body: { dataset: { id: "builtin:moons" }, model, learningRate: 3 } }, /'job.learningRate' is not a known field/],
    ["a wrong type", { body: { dataset: { id: "builtin:moons" }, model, epochs: "ten" } }, /'epochs' must be a finite number/],
    ["a negative batch size", { body: { dataset: { id: "builtin:moons" }, model, batchSize: -32 } }, /'batchSize' must be in \[1, 65536\], current value is -32/],
    ["a huge layer", { body: { dataset: { id: "builtin:moons" }, model: { ...model, layers: [{ type: "dense", units: 100000 }, { type: "dense", units: 2 }] } } }, /'model.layers\[0\].units' must be in \[1, 4096\]/],
    ["an unknown dataset", { body: { dataset: { id: "builtin:imagenet" }, model } }, /'dataset.id'.*does not exist/],
    ["a model that does not fit the data", { body: { dataset: { id: "builtin:moons" }, model: { ...model, input: [3] } } }, /'model.input' has 3 features but dataset 'builtin:moons' has 2/],
    ["a CSV with a ragged row", { path: "/v1/datasets?name=r&label=y", raw: "a,b,y\n1,2,0\n3,1\n", contentType: "text/csv" }, /line 3/],
    ["a CSV without a label", { path: "/v1/datasets?name=r", raw: "a,b,y\n1,2,0\n", contentType: "text/csv" }, /'label'/],
  ];
  for (const [what, request, message] of cases) {
    it(`answers 400 naming the problem for ${what}`, async () => {
      const { status, body } = await api(coordinator.url, request.path ?? "/v1/jobs", { raw: request.raw, body: request.body, contentType: request.contentType });
      expect(status).toBe(400);
      expect(body.error.message).toMatch(message);
    });
  }

  it("keeps serving: a CSV upload, a 404 and the job list still work", async () => {
    const upload = await api(coordinator.url, "/v1/datasets?name=tiny&label=y", { raw: "a,b,y\n1,2,cat\n3,1,dog\n0,0,cat\n", contentType: "text/csv" });
    expect(upload.status).toBe(201);
    expect(upload.body).toMatchObject({ rows: 3, features: 2, classes: 2 });
    expect((await api(coordinator.url, `/v1/datasets/${upload.body.id}`)).body.classNames).toEqual(["cat", "dog"]);
    expect((await api(coordinator.url, "/v1/jobs/job_nope")).status).toBe(404);
    expect((await api(coordinator.url, "/v1/jobs")).status).toBe(200);
  });
});
