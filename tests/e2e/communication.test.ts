/**
 * A job's `communication` with real processes: a Deno coordinator and two Deno workers, each behind
 * a proxy that logs what its link carried. The record's counts are exactly the training requests'
 * body bytes and reply bytes the proxies passed (failed sends retried included; evaluation left
 * out), in sync and in local mode; and after a coordinator SIGKILL the resumed job's count is the
 * checkpoint's plus what the new coordinator sent: the steps lost in the crash are counted once.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileStore } from "../../coordinator/store/file-store.ts";
import { api, waitForJob } from "../helpers/api.ts";
import { startCoordinator } from "../helpers/coordinator-process.ts";
import { type FlakyProxy, type ProxiedPost, startFlakyProxy } from "../helpers/flaky-proxy.ts";
import type { ServerProcess } from "../helpers/server-process.ts";
import { waitFor } from "../helpers/wait.ts";
import { startWorker, type WorkerProcess } from "../helpers/worker-process.ts";

const SECRET = "e2e-communication-" + Math.random().toString(36).slice(2);

const job = {
  name: "communication",
  dataset: { id: "builtin:moons" },
  model: { input: [2], layers: [{ type: "dense", units: 16 }, { type: "batchnorm" }, { type: "relu" }, { type: "dense", units: 2 }], output: "softmax" },
  optimizer: { type: "adam", learningRate: 0.01 },
  batchSize: 100,
  chunkSize: 25,
  epochs: 3,
  seed: 7,
  deterministic: true,
};

/** builtin:moons has 1,000 examples: 600 in the training split. */
const TRAIN_ROWS = 600;

let workers: WorkerProcess[] = [];
let proxies: FlakyProxy[] = [];
const dirs: string[] = [];

beforeAll(async () => {
  workers = await Promise.all([startWorker("deno", { secret: SECRET }), startWorker("deno", { secret: SECRET })]);
  // The second link fails every fifth POST with a 500: those sends and their retries count too.
  proxies = await Promise.all([startFlakyProxy(workers[0].url, 0), startFlakyProxy(workers[1].url, 5)]);
}, 90_000);

afterAll(async () => {
  await Promise.all(proxies.map((p) => p.close()));
  await Promise.all(workers.map((w) => w.stop()));
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function coordinatorOn(dir?: string): Promise<{ coordinator: ServerProcess; dir: string }> {
  const dataDir = dir ?? await mkdtemp(join(tmpdir(), "edgeprop-communication-"));
  if (!dir) dirs.push(dataDir);
  return { coordinator: await startCoordinator({ dataDir, workers: proxies.map((p) => p.url), secret: SECRET }), dir: dataDir };
}

/** What the proxies passed for training (POSTs to `path`) among `posts`. */
function carried(posts: readonly ProxiedPost[], path: string) {
  const training = posts.filter((p) => p.path === path);
  return {
    requests: training.length,
    bytesSent: training.reduce((a, p) => a + p.sent, 0),
    bytesReceived: training.reduce((a, p) => a + p.received, 0),
  };
}

const allPosts = () => proxies.flatMap((p) => p.posts);

describe("communication", () => {
  it("counts exactly the training requests' bytes the workers' links carried, in sync and local mode", async () => {
    const { coordinator } = await coordinatorOn();
    try {
      const cases = [
        { spec: job, path: "/v1/gradients" },
        { spec: { ...job, distribution: { mode: "local", replicas: 4, innerSteps: 3 } }, path: "/v1/rounds" },
      ];
      for (const { spec, path } of cases) {
        const before = proxies.map((p) => p.posts.length);
        const submitted = await api(coordinator.url, "/v1/jobs", { body: spec });
        expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
        const record = await waitForJob(coordinator.url, submitted.body.id);
        expect(record.status, record.error).toBe("succeeded");
        const posts = proxies.flatMap((p, i) => p.posts.slice(before[i]));
        const expected = carried(posts, path);
        expect(expected.requests).toBeGreaterThan(0);
        expect(posts.some((p) => p.path === "/v1/evaluate"), "evaluation went over the same links").toBe(true);
        const c = record.communication;
        expect({ requests: c.requests, bytesSent: c.bytesSent, bytesReceived: c.bytesReceived }, path).toEqual(expected);
        expect(c.bytesPerExample).toBeCloseTo((expected.bytesSent + expected.bytesReceived) / (job.epochs * TRAIN_ROWS), 6);
      }
      expect(proxies[1].counts.failed, "some sends failed and were retried").toBeGreaterThan(0);
    } finally {
      await coordinator.stop();
    }
  }, 120_000);

  it("survives a coordinator SIGKILL: the checkpoint's count plus what the resumed run sent", async () => {
    const spec = { ...job, epochs: 12, checkpointEvery: 2 };
    const first = await coordinatorOn();
    let second: ServerProcess | null = null;
    try {
      const submitted = await api(first.coordinator.url, "/v1/jobs", { body: spec });
      expect(submitted.status).toBe(201);
      const id = submitted.body.id as string;
      await waitFor(async () => {
        const { body } = await api(first.coordinator.url, `/v1/jobs/${id}`);
        expect(body.status).not.toBe("succeeded"); // must be killed mid-training
        return body.progress.epoch;
      }, (epoch) => epoch >= 3, "the job to reach epoch 3", { intervalMs: 10 });
      await first.coordinator.kill();
      const killedAt = Date.now();
      // What the store kept at the last checkpoint, read before anything resumes the job.
      const stored = (await new FileStore(first.dir).getJob(id))!;
      const checkpointed = stored.communication!;
      expect(checkpointed.requests).toBeGreaterThan(0);

      second = (await coordinatorOn(first.dir)).coordinator;
      expect(second.stdout()).toMatch(/resumed 1 job/);
      const record = await waitForJob(second.url, id);
      expect(record.status, record.error).toBe("succeeded");
      const resumed = carried(allPosts().filter((p) => p.at > killedAt), "/v1/gradients");
      expect(resumed.requests).toBeGreaterThan(0);
      expect({ requests: record.communication.requests, bytesSent: record.communication.bytesSent, bytesReceived: record.communication.bytesReceived }).toEqual({
        requests: checkpointed.requests + resumed.requests,
        bytesSent: checkpointed.bytesSent + resumed.bytesSent,
        bytesReceived: checkpointed.bytesReceived + resumed.bytesReceived,
      });
      // Every example of the 12 epochs once, though some steps were computed twice.
      const c = record.communication;
      expect(c.bytesPerExample).toBeCloseTo((c.bytesSent + c.bytesReceived) / (spec.epochs * TRAIN_ROWS), 6);
    } finally {
      await first.coordinator.kill();
      await second?.stop();
    }
  }, 180_000);
});
