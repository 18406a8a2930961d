/**
 * The limits agree with each other: a model at the parameter limit fits a worker's default body
 * limit, and a job whose smallest request cannot fit its workers' advertised limit (a real worker
 * process) or, before any worker has answered, the default, is a 400 at submission naming both
 * numbers instead of a 413 from the worker mid-job.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_MODEL_LIMITS, DEFAULT_WORKER_LIMITS } from "../../core/limits.ts";
import type { ModelPlan } from "../../core/model/spec.ts";
import { ValidationError } from "../../core/validation-error.ts";
import { DatasetRegistry } from "../../coordinator/datasets/registry.ts";
import { JobManager } from "../../coordinator/jobs/job-manager.ts";
import { FileStore } from "../../coordinator/store/file-store.ts";
import { minRequestBytes } from "../../coordinator/training/shard-plan.ts";
import { startWorker, type WorkerProcess } from "../helpers/worker-process.ts";

const WORKER_BODY_LIMIT = 67_000;
let dir: string;
let jobs: JobManager;
let worker: WorkerProcess;

const moons = (chunkSize: number, urls: string[]) => ({
  dataset: { id: "builtin:moons" },
  model: { input: [2], layers: [{ type: "dense", units: 4 }, { type: "relu" }, { type: "dense", units: 2 }], output: "softmax" },
  batchSize: 200,
  chunkSize,
  epochs: 1,
  workers: { urls },
});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "edgeprop-fit-"));
  const store = new FileStore(dir);
  jobs = new JobManager({ store, registry: new DatasetRegistry(store), defaultWorkers: [] });
  worker = await startWorker("node", { env: { EDGEPROP_MAX_BODY_BYTES: String(WORKER_BODY_LIMIT) } });
}, 60_000);

afterAll(async () => {
  await jobs.shutdown();
  await worker?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("limits that fit together", () => {
  it("a model at the parameter limit, with a chunk of 32 MNIST-size examples, fits the default body limit", () => {
    const plan = { parameterCount: DEFAULT_MODEL_LIMITS.maxParameters, batchNormState: [], inputSize: 784, outputs: 10 } as unknown as ModelPlan;
    expect(minRequestBytes(plan, 32)).toBeLessThanOrEqual(DEFAULT_WORKER_LIMITS.maxBodyBytes);
  });

  it("refuses a job over a worker's advertised maxBodyBytes at submission, naming both numbers", async () => {
    const error = await jobs.submit(moons(200, [worker.url])).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    const { field, code, message } = error as ValidationError;
    expect([field, code]).toEqual(["chunkSize", "limit_exceeded"]);
    // 4 × 22 parameters + 64 KiB + 200 × 4 × (2 + 2 + 1) bytes.
    expect(message).toMatch(new RegExp(`is ${4 * 22 + 65536 + 200 * 20} bytes, more than the workers' maxBodyBytes of ${WORKER_BODY_LIMIT}`));
    const fits = await jobs.submit(moons(20, [worker.url]));
    await jobs.settled(fits.id);
    expect((await jobs.get(fits.id))?.status).toBe("succeeded");
  }, 60_000);

  it("checks against the default limits while no worker has answered", async () => {
    const mnist = {
      dataset: { id: "builtin:mnist" },
      model: { input: [784], layers: [{ type: "dense", units: 4096 }, { type: "relu" }, { type: "dense", units: 200 }, { type: "relu" }, { type: "dense", units: 10 }], output: "softmax" },
      batchSize: 6000,
      chunkSize: 6000,
      workers: { urls: ["http://127.0.0.1:9"] },
    };
    await expect(jobs.submit(mnist)).rejects.toThrow(new RegExp(`more than the workers' maxBodyBytes of ${DEFAULT_WORKER_LIMITS.maxBodyBytes}`));
  }, 60_000);
});
