/**
 * The job spec's `distribution` field through the coordinator API (Hono app.request, in-process
 * pool): every invalid field is a 400 naming it, and a valid local-mode job trains to success.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCoordinatorApp } from "../../coordinator/app.ts";
import { DatasetRegistry } from "../../coordinator/datasets/registry.ts";
import { JobManager } from "../../coordinator/jobs/job-manager.ts";
import { InProcessPool } from "../../coordinator/pool/in-process-pool.ts";
import { FileStore } from "../../coordinator/store/file-store.ts";
import { useBackend } from "../../core/tf.ts";
import { waitFor } from "../helpers/wait.ts";

let dir: string;
let jobs: JobManager;
let app: ReturnType<typeof createCoordinatorApp>;

const spec = (distribution: unknown, over: object = {}) => ({
  dataset: { id: "builtin:moons" },
  model: { input: [2], layers: [{ type: "dense", units: 8 }, { type: "relu" }, { type: "dense", units: 2 }], output: "softmax" },
  epochs: 2,
  batchSize: 64,
  distribution,
  ...over,
});

async function submit(body: object): Promise<Response> {
  return await app.request("/v1/jobs", { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } });
}

beforeAll(async () => {
  await useBackend("wasm");
  dir = await mkdtemp(join(tmpdir(), "edgeprop-distribution-"));
  const store = new FileStore(dir);
  const registry = new DatasetRegistry(store);
  jobs = new JobManager({ store, registry, defaultWorkers: ["in-process"], createPool: async () => new InProcessPool({ workers: 1 }) });
  app = createCoordinatorApp({ jobs, datasets: registry });
});

afterAll(async () => {
  await jobs.shutdown();
  await rm(dir, { recursive: true, force: true });
});

const local = { mode: "local", replicas: 4, innerSteps: 8 };
const cases: [string, unknown, string, RegExp][] = [
  ["not an object", "local", "distribution", /must be an object/],
  ["an unknown field", { ...local, workers: 2 }, "distribution.workers", /not a known field/],
  ["an unknown mode", { mode: "async" }, "distribution.mode", /"sync", "local"/],
  ["a local field in sync mode", { mode: "sync", replicas: 2 }, "distribution.replicas", /only to mode "local"/],
  ["no replicas", { mode: "local", innerSteps: 8 }, "distribution.replicas", /is required/],
  ["replicas 0", { ...local, replicas: 0 }, "distribution.replicas", /must be in \[1, 256\]/],
  ["replicas not an integer", { ...local, replicas: 2.5 }, "distribution.replicas", /integer/],
  ["replicas that do not divide batchSize", { ...local, replicas: 5 }, "distribution.replicas", /must divide 'batchSize' \(64\)/],
  ["no innerSteps", { mode: "local", replicas: 4 }, "distribution.innerSteps", /is required/],
  ["innerSteps 0", { ...local, innerSteps: 0 }, "distribution.innerSteps", /must be in \[1, 100000\]/],
  ["innerSteps a string", { ...local, innerSteps: "8" }, "distribution.innerSteps", /finite number/],
  ["an unknown innerState", { ...local, innerState: "share" }, "distribution.innerState", /"keep", "reset"/],
  ["outer not an object", { ...local, outer: "nesterov" }, "distribution.outer", /must be an object/],
  ["an unknown outer field", { ...local, outer: { type: "sgd", beta: 0.9 } }, "distribution.outer.beta", /not a known field/],
  ["an unknown outer type", { ...local, outer: { type: "lamb" } }, "distribution.outer.type", /"nesterov", "sgd", "momentum", "adam"/],
  ["outer learningRate 0", { ...local, outer: { type: "nesterov", learningRate: 0 } }, "distribution.outer.learningRate", /must be in \(0, 100\]/],
  ["outer momentum 1", { ...local, outer: { type: "momentum", momentum: 1 } }, "distribution.outer.momentum", /must be in \[0, 1\)/],
  ["outer momentum with sgd", { ...local, outer: { type: "sgd", momentum: 0.9 } }, "distribution.outer.momentum", /does not apply to outer type "sgd"/],
];

describe("distribution", () => {
  for (const [what, distribution, field, message] of cases) {
    it(`is a 400 naming '${field}' for ${what}`, async () => {
      const response = await submit(spec(distribution));
      expect(response.status).toBe(400);
      const { error } = (await response.json()) as { error: { field: string; message: string } };
      expect(error.field).toBe(field);
      expect(error.message).toMatch(message);
    });
  }

  it("trains a local-mode job to success, its spec keeping the defaults it was given", async () => {
    const response = await submit(spec(local, { epochs: 10, optimizer: { type: "adam", learningRate: 0.01 } }));
    expect(response.status).toBe(201);
    const { id } = (await response.json()) as { id: string };
    const record = await waitFor(
      async () => (await (await app.request(`/v1/jobs/${id}`)).json()) as { status: string; error: string | null; spec: { distribution: unknown }; metrics: { devError: number } },
      (r) => r.status !== "queued" && r.status !== "running",
      "the local-mode job to finish",
      { timeoutMs: 60_000 },
    );
    expect(record.status, record.error ?? "").toBe("succeeded");
    expect(record.spec.distribution).toEqual({ ...local, innerState: "keep", outer: { type: "nesterov", learningRate: 0.7, momentum: 0.9 } });
    expect(record.metrics.devError).toBeLessThan(0.3);
  }, 90_000);
});
