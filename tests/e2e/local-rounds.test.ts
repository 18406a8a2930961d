/**
 * Local-step rounds with real processes: a Deno coordinator and Deno edge workers on loopback.
 * The K = 4 logical replicas of a job give bitwise the same parameters on 1, 2 and 4 workers and
 * in process, with rounds cut into several requests by a worker's maxRoundExamples, after a
 * killed worker and a worker failing every third request, and after a coordinator SIGKILL
 * mid-job resumed from its last checkpoint.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useBackend } from "../../core/tf.ts";
import { api, modelParameters, waitForJob } from "../helpers/api.ts";
import { inProcessParameters, runJob } from "../helpers/jobs.ts";
import { startCoordinator } from "../helpers/coordinator-process.ts";
import { startFlakyProxy } from "../helpers/flaky-proxy.ts";
import type { ServerProcess } from "../helpers/server-process.ts";
import { waitFor } from "../helpers/wait.ts";
import { startWorker, type WorkerProcess } from "../helpers/worker-process.ts";

const SECRET = "e2e-rounds-secret-" + Math.random().toString(36).slice(2);

/** Batch norm, dropout, L2, Adam inside, inverse-time decay, DiLoCo's nesterov outside. */
const localJob = {
  name: "local",
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
  distribution: { mode: "local", replicas: 4, innerSteps: 3, innerState: "keep" },
};

let workers: WorkerProcess[] = [];
let coordinator: ServerProcess;
let dataDir: string;
const scratch: string[] = [];

beforeAll(async () => {
  await useBackend("wasm");
  workers = await Promise.all([0, 1, 2, 3].map(() => startWorker("deno", { secret: SECRET })));
  dataDir = await mkdtemp(join(tmpdir(), "edgeprop-rounds-"));
  coordinator = await startCoordinator({ dataDir, workers: workers.map((w) => w.url), secret: SECRET });
}, 90_000);

afterAll(async () => {
  await coordinator?.stop();
  await Promise.all(workers.map((w) => w.stop()));
  for (const dir of [dataDir, ...scratch]) if (dir) await rm(dir, { recursive: true, force: true });
});

describe("local-step rounds", () => {
  it("end with bitwise-identical parameters on 1, 2 and 4 workers and in process, and with rounds cut by maxRoundExamples", async () => {
    const reference = await inProcessParameters(localJob);
    for (const count of [1, 2, 4]) {
      const { params } = await runJob(coordinator.url, { ...localJob, workers: { urls: workers.slice(0, count).map((w) => w.url) } });
      expect(params, `${count} workers`).toEqual(reference);
    }
    // A worker that takes 50 examples per round request: every round of 3 steps of 25 rows goes out as 2 + 1.
    const small = await startWorker("deno", { secret: SECRET, env: { EDGEPROP_MAX_ROUND_EXAMPLES: "50" } });
    const counter = await startFlakyProxy(small.url, 0);
    try {
      const { params, record } = await runJob(coordinator.url, { ...localJob, workers: { urls: [counter.url] } });
      expect(params).toEqual(reference);
      // 600 training rows: 6 steps, 2 rounds an epoch, each of 2 segments × 4 replicas; 9 evaluation requests besides.
      expect(record.progress.steps).toBe(6);
      expect(counter.counts.requests).toBe(3 * 2 * 2 * 4 + 9);
      expect(record.metrics.devError).toBeLessThan(0.3);
    } finally {
      await counter.close();
      await small.stop();
    }
  }, 180_000);

  it("survive a killed worker and a worker failing every third request, with the fault-free parameters", async () => {
    const victim = await startWorker("deno", { secret: SECRET });
    const flaky = await startFlakyProxy(workers[0].url, 3);
    try {
      const job = { ...localJob, epochs: 10, workers: { urls: [workers[1].url, victim.url, flaky.url], retries: 5 } };
      const submitted = await api(coordinator.url, "/v1/jobs", { body: job });
      expect(submitted.status).toBe(201);
      const before = await waitFor(
        async () => (await api(coordinator.url, `/v1/jobs/${submitted.body.id}`)).body,
        (body) => body.progress.epoch >= 1 || body.status !== "running" && body.status !== "queued",
        "the job to finish an epoch",
      );
      expect(before.status).toBe("running"); // killed mid-job, not after it
      await victim.kill();
      const record = await waitForJob(coordinator.url, submitted.body.id);
      expect(record.status, record.error).toBe("succeeded");
      expect(flaky.counts.failed).toBeGreaterThan(0);
      expect(await modelParameters(coordinator.url, record.id)).toEqual(await inProcessParameters({ ...localJob, epochs: 10 }));
    } finally {
      await victim.stop();
      await flaky.close();
    }
  }, 180_000);

  it("resume after a coordinator SIGKILL mid-job from the last checkpoint and end with the uninterrupted parameters", async () => {
    const job = { ...localJob, epochs: 12, checkpointEvery: 3 };
    const dir = await mkdtemp(join(tmpdir(), "edgeprop-rounds-crash-"));
    scratch.push(dir);
    let second: ServerProcess | null = null;
    const first = await startCoordinator({ dataDir: dir, workers: workers.slice(0, 2).map((w) => w.url), secret: SECRET });
    try {
      const submitted = await api(first.url, "/v1/jobs", { body: job });
      expect(submitted.status).toBe(201);
      // Killed inside an epoch, after its first round's checkpoint: the resumed job redoes the rounds since.
      await waitFor(async () => {
        const { body } = await api(first.url, `/v1/jobs/${submitted.body.id}`);
        expect(body.status).not.toBe("succeeded");
        return body.progress;
      }, (p) => p.epoch >= 3 && p.step >= 3, "the job to pass the first round of epoch 3", { intervalMs: 10 });
      await first.kill();
      second = await startCoordinator({ dataDir: dir, workers: workers.slice(0, 2).map((w) => w.url), secret: SECRET });
      expect(second.stdout()).toMatch(/resumed 1 job/);
      const record = await waitForJob(second.url, submitted.body.id);
      expect(record.status, record.error).toBe("succeeded");
      expect(await modelParameters(second.url, record.id)).toEqual(await inProcessParameters(job));
      const { body: metrics } = await api(second.url, `/v1/jobs/${record.id}/metrics`);
      expect(metrics.steps.map((s: any) => s.step)).toEqual(Array.from({ length: 12 * 6 }, (_, i) => i + 1));
      expect(metrics.epochs.length).toBe(12);
    } finally {
      await first.kill();
      await second?.stop();
    }
  }, 180_000);
});
