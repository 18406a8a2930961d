/**
 * The coordinator's HTTP API in process (Hono app.request) on an in-process pool: the contract of
 * DESIGN.md that clients rely on, without spawning workers (the e2e suite does that).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useBackend } from "../../core/tf.ts";
import { encode } from "../../core/wire/codec.ts";
import { createCoordinatorApp } from "../../coordinator/app.ts";
import { DatasetRegistry } from "../../coordinator/datasets/registry.ts";
import { JobManager } from "../../coordinator/jobs/job-manager.ts";
import { InProcessPool } from "../../coordinator/pool/in-process-pool.ts";
import { FileStore } from "../../coordinator/store/file-store.ts";
import { waitFor } from "../helpers/wait.ts";

const TOKEN = "test-token";
let dir: string;
let store: FileStore;
let jobs: JobManager;
let app: ReturnType<typeof createCoordinatorApp>;

const job = (over: object = {}) => ({
  name: "moons",
  dataset: { id: "builtin:moons" },
  model: { input: [2], layers: [{ type: "dense", units: 8 }, { type: "batchnorm" }, { type: "relu" }, { type: "dense", units: 2 }], output: "softmax" },
  optimizer: { type: "adam", learningRate: 0.02 },
  schedule: { type: "inverseTime", decayRate: 0.1 },
  batchSize: 100,
  chunkSize: 25,
  epochs: 2,
  ...over,
});

async function call(path: string, init: { method?: string; body?: unknown; raw?: BodyInit; type?: string; token?: string | null; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token !== null) headers.authorization = `Bearer ${init.token ?? TOKEN}`;
  let body: BodyInit | undefined = init.raw;
  if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    headers["content-type"] = "application/json";
  }
  if (init.type) headers["content-type"] = init.type;
  return app.request(path, { method: init.method ?? (body === undefined ? "GET" : "POST"), headers, body });
}

async function submit(spec: object): Promise<string> {
  const response = await call("/v1/jobs", { body: spec });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

beforeAll(async () => {
  await useBackend("wasm");
  dir = await mkdtemp(join(tmpdir(), "edgeprop-app-"));
  store = new FileStore(dir);
  const registry = new DatasetRegistry(store);
  jobs = new JobManager({ store, registry, defaultWorkers: ["in-process"], createPool: async () => new InProcessPool({ workers: 2 }) });
  app = createCoordinatorApp({ jobs, datasets: registry, apiToken: TOKEN });
});

afterAll(async () => {
  await jobs.shutdown();
  await rm(dir, { recursive: true, force: true });
});

/** Reads an SSE response to its end: [{id, event, data}]. */
async function readEvents(response: Response): Promise<{ id: string | null; event: string; data: any }[]> {
  const text = await response.text();
  return text.split("\n\n").filter((b) => b.includes("event:")).map((block) => {
    const field = (name: string) => block.split("\n").find((l) => l.startsWith(`${name}:`))?.slice(name.length + 1).trim() ?? null;
    return { id: field("id"), event: field("event")!, data: JSON.parse(field("data")!) };
  });
}

describe("the coordinator API", () => {
  it("requires the API token when one is set", async () => {
    expect((await call("/v1/jobs", { token: null })).status).toBe(401);
    expect((await call("/v1/jobs", { token: "wrong" })).status).toBe(401);
    const ok = await call("/v1/jobs");
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ jobs: [] });
  });

  it("trains a job and streams progress, metrics, epoch, checkpoint and done events", async () => {
    const id = await submit(job());
    const events = await readEvents(await call(`/v1/jobs/${id}/events`));
    const types = new Set(events.map((e) => e.event));
    for (const t of ["progress", "metrics", "epoch", "checkpoint", "done"]) expect(types.has(t), t).toBe(true);
    expect(events.at(-1)!.event).toBe("done");
    const ids = events.filter((e) => e.id !== null).map((e) => Number(e.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    // Reconnecting with Last-Event-ID resumes after that event.
    const resumed = await readEvents(await call(`/v1/jobs/${id}/events`, { headers: { "last-event-id": String(ids[3]) } }));
    expect(Number(resumed[0].id)).toBe(ids[4]);

    const record = await (await call(`/v1/jobs/${id}`)).json() as any;
    expect(record).toMatchObject({ id, name: "moons", status: "succeeded", error: null, progress: { epoch: 1, epochs: 2, step: 6, steps: 6 } });
    for (const k of ["trainLoss", "trainError", "devLoss", "devError", "testLoss", "testError"]) expect(typeof record.metrics[k], k).toBe("number");
    expect(record.metrics.devError).toBeGreaterThanOrEqual(0);
    expect(record.metrics.devError).toBeLessThanOrEqual(1);
    expect(["high bias", "high variance", "high bias and high variance", "good fit"]).toContain(record.diagnosis.verdict);
    expect(record.diagnosis.recommendations.length).toBeGreaterThanOrEqual(0);
    expect(record.throughput.examplesPerSecond).toBeGreaterThan(0);
    expect(record.timing.stepMs).toBeGreaterThan(0);

    const metrics = await (await call(`/v1/jobs/${id}/metrics`)).json() as any;
    expect(metrics.steps.length).toBe(12);
    expect(metrics.epochs.map((e: any) => e.epoch)).toEqual([0, 1]);
    expect(metrics.steps[0]).toMatchObject({ kind: "step", step: 1, skipped: false });
    expect(metrics.steps[0].smoothedLoss).toBeCloseTo(metrics.steps[0].loss, 10); // bias-corrected EWA of one value
  });

  it("serves the model as JSON and MessagePack, and predicts", async () => {
    const id = await submit(job());
    await jobs.settled(id);
    const model = await (await call(`/v1/jobs/${id}/model?format=json`)).json() as any;
    expect(Object.keys(model).sort()).toEqual(["batchNorm", "classNames", "members", "normalization", "parameters", "spec"]);
    expect(model.parameters["dense0.W"].shape).toEqual([2, 8]);
    expect(model.parameters["dense0.W"].data.length).toBe(16);
    expect(model.batchNorm["batchnorm1.mean"].data.length).toBe(8);
    expect(model.normalization.kind).toBe("standardize");
    const binary = await call(`/v1/jobs/${id}/model`);
    expect(binary.headers.get("content-type")).toBe("application/x-msgpack");
    expect((await binary.arrayBuffer()).byteLength).toBeGreaterThan(100);

    const predicted = await (await call(`/v1/jobs/${id}/predict`, { body: { inputs: [[0, 0.5], [1.5, -0.5]] } })).json() as any;
    expect(predicted.outputs.length).toBe(2);
    for (const row of predicted.outputs) expect(row[0] + row[1]).toBeCloseTo(1, 5);
    expect(predicted.classes.every((c: string) => c === "0" || c === "1")).toBe(true);
    const bad = await call(`/v1/jobs/${id}/predict`, { body: { inputs: [[0, "x"]] } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error.message).toMatch(/'inputs\[0\]\[1\]' must be a finite number/);
  });

  it("cancels a running job and keeps its last checkpoint", async () => {
    const id = await submit(job({ epochs: 500, checkpointEvery: 1 }));
    await waitFor(async () => ((await (await call(`/v1/jobs/${id}`)).json()) as any).progress.step, (step) => step >= 2, "the job's second step", { intervalMs: 5 });
    const response = await call(`/v1/jobs/${id}/cancel`, { method: "POST" });
    expect(await response.json()).toEqual({ id, status: "cancelled" });
    expect(await store.getCheckpoint(id)).not.toBeNull();
    const events = await readEvents(await call(`/v1/jobs/${id}/events`));
    expect(events.at(-1)!.event).toBe("cancelled");
  });

  it("stops early and restores the best parameters", async () => {
    // With a huge minDelta no epoch after the first counts as better: patience 2 stops after
    // epoch 2, and restoreBest gives back the parameters after epoch 0, the bits of a 1-epoch job.
    const stopped = await submit(job({ epochs: 20, earlyStopping: { metric: "devLoss", patience: 2, minDelta: 1e9, restoreBest: true } }));
    const once = await submit(job({ epochs: 1 }));
    await Promise.all([jobs.settled(stopped), jobs.settled(once)]);
    const metrics = await (await call(`/v1/jobs/${stopped}/metrics`)).json() as any;
    expect(metrics.epochs.length).toBe(3);
    const a = await (await call(`/v1/jobs/${stopped}/model?format=json`)).json() as any;
    const b = await (await call(`/v1/jobs/${once}/model?format=json`)).json() as any;
    expect(a.parameters).toEqual(b.parameters);
  });

  it("trains an ensemble whose members differ and averages their outputs", async () => {
    const id = await submit(job({ ensemble: { members: 3 } }));
    await jobs.settled(id);
    const model = await (await call(`/v1/jobs/${id}/model?format=json`)).json() as any;
    expect(model.members.length).toBe(3);
    expect(model.members[1].parameters["dense0.W"].data).not.toEqual(model.members[0].parameters["dense0.W"].data);
    const record = await (await call(`/v1/jobs/${id}`)).json() as any;
    expect(record.status).toBe("succeeded");
    expect(record.progress.members).toBe(3);
    const predicted = await (await call(`/v1/jobs/${id}/predict`, { body: { inputs: [[0, 0]] } })).json() as any;
    expect(predicted.outputs[0][0] + predicted.outputs[0][1]).toBeCloseTo(1, 5);
  });

  it("uploads datasets as CSV and MessagePack and lists them", async () => {
    const csv = await call("/v1/datasets?name=xy&label=label", { raw: "x,y,label\n0,1,a\n1,0,b\n", type: "text/csv" });
    expect(csv.status).toBe(201);
    const packed = await call("/v1/datasets", {
      raw: encode({ name: "packed", features: Float32Array.from([0, 1, 2, 3, 4, 5]), shape: [3, 2], labels: Int32Array.from([0, 1, 0]) }).slice(),
      type: "application/x-msgpack",
    });
    expect(packed.status).toBe(201);
    expect(await packed.json()).toMatchObject({ name: "packed", rows: 3, features: 2, classes: 2 });
    const bad = await call("/v1/datasets", { raw: encode({ name: "bad", features: Float32Array.from([0, 1]), shape: [3, 2], labels: [0] }).slice(), type: "application/x-msgpack" });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error.message).toMatch(/'features' must have m × n = 6 values/);
    const nan = await call("/v1/datasets", { raw: encode({ name: "nan", features: Float32Array.from([0, 1, 2, 3, NaN, 5]), shape: [3, 2], labels: [0, 1, 0] }).slice(), type: "application/x-msgpack" });
    expect(nan.status).toBe(400);
    expect(((await nan.json()) as any).error.message).toMatch(/'features\[4\]' must be finite, current value is NaN/);
    const list = await (await call("/v1/datasets")).json() as any;
    const ids = list.datasets.map((d: any) => d.id);
    expect(ids).toContain("builtin:mnist");
    expect(ids).toContain("builtin:spirals");
    expect(list.datasets.filter((d: any) => !d.builtin).map((d: any) => d.name)).toEqual(["xy", "packed"]);
    expect((await call("/v1/datasets", { raw: "x", type: "text/plain" })).status).toBe(415);
  });

  it("answers unknown routes and jobs with a JSON 404", async () => {
    const response = await call("/v1/nothing");
    expect(response.status).toBe(404);
    expect(((await response.json()) as any).error.code).toBe("not_found");
    expect((await call("/v1/jobs/job_0000/metrics")).status).toBe(404);
  });
});
