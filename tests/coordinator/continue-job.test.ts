/**
 * A job's life after it ends, over the HTTP API on an in-process pool: `POST /v1/jobs/:id/continue`
 * (a succeeded or a cancelled job trained N more epochs, bitwise the job of the longer length),
 * `GET /v1/jobs/:id/checkpoint`, early stopping reported in the record and the `done` event, and
 * `GET /v1/jobs/:id/metrics?format=csv`.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useBackend } from "../../core/tf.ts";
import { decode } from "../../core/wire/codec.ts";
import { createCoordinatorApp } from "../../coordinator/app.ts";
import { DatasetRegistry } from "../../coordinator/datasets/registry.ts";
import { JobManager } from "../../coordinator/jobs/job-manager.ts";
import { InProcessPool } from "../../coordinator/pool/in-process-pool.ts";
import { FileStore } from "../../coordinator/store/file-store.ts";
import { within } from "../helpers/wait.ts";

let dir: string;
let jobs: JobManager;
let app: ReturnType<typeof createCoordinatorApp>;

const spec = (over: object = {}) => ({
  name: "moons",
  dataset: { id: "builtin:moons" },
  model: { input: [2], layers: [{ type: "dense", units: 8 }, { type: "batchnorm" }, { type: "relu" }, { type: "dense", units: 2 }], output: "softmax" },
  optimizer: { type: "adam", learningRate: 0.02 },
  schedule: { type: "inverseTime", decayRate: 0.3 },
  batchSize: 100,
  chunkSize: 25,
  epochs: 2,
  deterministic: true,
  ...over,
});

async function call(path: string, body?: unknown): Promise<Response> {
  return app.request(path, body === undefined ? {} : { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
}

async function submit(over: object = {}): Promise<string> {
  const response = await call("/v1/jobs", spec(over));
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

async function finished(id: string): Promise<any> {
  await within(jobs.settled(id), `job ${id} to end`, 60_000);
  return (await call(`/v1/jobs/${id}`)).json();
}

async function parameters(id: string): Promise<Record<string, number[]>> {
  const model = (await (await call(`/v1/jobs/${id}/model?format=json`)).json()) as { parameters: Record<string, { data: number[] }> };
  return Object.fromEntries(Object.entries(model.parameters).map(([k, v]) => [k, v.data]));
}

const epochsLogged = async (id: string) => ((await (await call(`/v1/jobs/${id}/metrics`)).json()) as { epochs: { epoch: number }[] }).epochs.map((e) => e.epoch);

beforeAll(async () => {
  await useBackend("wasm");
  dir = await mkdtemp(join(tmpdir(), "edgeprop-continue-"));
  const store = new FileStore(dir);
  const registry = new DatasetRegistry(store);
  jobs = new JobManager({ store, registry, defaultWorkers: ["in-process"], createPool: async () => new InProcessPool({ workers: 2 }) });
  app = createCoordinatorApp({ jobs, datasets: registry });
});

afterAll(async () => {
  await jobs.shutdown();
  await rm(dir, { recursive: true, force: true });
});

describe("POST /v1/jobs/:id/continue", () => {
  it("trains a succeeded job N more epochs under the same id, bitwise the job submitted with the total", async () => {
    const id = await submit({ epochs: 2 });
    expect((await call(`/v1/jobs/${id}/continue`, { epochs: 1 })).status).toBe(409); // still running
    expect((await finished(id)).status).toBe("succeeded");

    const continued = await call(`/v1/jobs/${id}/continue`, { epochs: 3 });
    expect(continued.status).toBe(200);
    expect(await continued.json()).toEqual({ id, status: "queued", epochs: 5 });
    const after = await finished(id);
    expect(after).toMatchObject({ id, status: "succeeded", spec: { epochs: 5 }, progress: { epochs: 5 } });

    const full = await submit({ epochs: 5 });
    const once = await finished(full);
    const a = await parameters(id);
    const b = await parameters(full);
    expect(Object.keys(b).length).toBeGreaterThan(0);
    for (const name of Object.keys(b)) expect(a[name], name).toEqual(b[name]);
    expect(after.metrics).toEqual(once.metrics);
    expect(await epochsLogged(id)).toEqual([0, 1, 2, 3, 4]); // history kept, each epoch once
  });

  it("continues a cancelled job from its last checkpoint: bitwise the job of checkpointed epochs + N", async () => {
    const id = await submit({ epochs: 10_000, checkpointEvery: 3 });
    // Cancel after a few checkpoints (every 3 steps and at each epoch end), wherever the last one falls.
    await new Promise<void>((resolve) => {
      const stop = jobs.events.subscribe(id, 0, (event) => {
        if (event.type === "checkpoint" && (event.data as { step: number }).step >= 4) {
          stop();
          resolve();
        }
      });
    });
    await call(`/v1/jobs/${id}/cancel`, {});
    expect((await finished(id)).status).toBe("cancelled");
    const checkpoint = decode(new Uint8Array(await (await call(`/v1/jobs/${id}/checkpoint`)).arrayBuffer())) as { state: { current: { epoch: number } } };
    const done = checkpoint.state.current.epoch;

    const continued = await call(`/v1/jobs/${id}/continue`, { epochs: 2 });
    expect(continued.status).toBe(200);
    expect(await continued.json()).toMatchObject({ id, epochs: done + 2 });
    expect((await finished(id)).status).toBe("succeeded");

    const full = await submit({ epochs: done + 2, checkpointEvery: 3 });
    await finished(full);
    const a = await parameters(id);
    const b = await parameters(full);
    for (const name of Object.keys(b)) expect(a[name], name).toEqual(b[name]);
    expect(await epochsLogged(id)).toEqual(Array.from({ length: done + 2 }, (_, i) => i));
  });

  it("refuses what it cannot continue with a 4xx naming the reason", async () => {
    expect((await call("/v1/jobs/job_nope/continue", { epochs: 1 })).status).toBe(404);
    const id = await submit({ epochs: 1 });
    await finished(id);
    for (const body of [{}, { epochs: 0 }, { epochs: 1.5 }, { epochs: "2" }, { epochs: 20_000 }]) {
      const response = await call(`/v1/jobs/${id}/continue`, body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(((await response.json()) as { error: { field: string } }).error.field).toBe("epochs");
    }
    const ensemble = await submit({ epochs: 1, ensemble: { members: 2 } });
    await finished(ensemble);
    const refused = await call(`/v1/jobs/${ensemble}/continue`, { epochs: 1 });
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/ensemble of 2/);
  });
});

describe("early stopping, the checkpoint download and the metrics CSV", () => {
  it("reports where it stopped (1-based) in the record and the done event, and refuses to continue it", async () => {
    // minDelta 100: only the first epoch improves, so with patience 1 the job stops after epoch 2.
    const id = await submit({ epochs: 6, earlyStopping: { metric: "devLoss", patience: 1, minDelta: 100 } });
    const record = await finished(id);
    expect(record.earlyStopping).toEqual({ stoppedAtEpoch: 2, bestEpoch: 1, restored: true });
    const events = await (await call(`/v1/jobs/${id}/events`)).text();
    const done = /event: done\ndata: (.*)\n/.exec(events);
    expect(done, events.slice(-500)).not.toBeNull();
    expect(JSON.parse(done![1]).earlyStopping).toEqual({ stoppedAtEpoch: 2, bestEpoch: 1, restored: true });
    const refused = await call(`/v1/jobs/${id}/continue`, { epochs: 2 });
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/stopped early at epoch 2/);

    const plain = await finished(await submit({ epochs: 1 }));
    expect(plain.earlyStopping).toBeNull();
  });

  it("serves the checkpoint as the unframed MessagePack {state, metricsCount}, and the epochs as CSV", async () => {
    const id = await submit({ epochs: 2 });
    await finished(id);
    const response = await call(`/v1/jobs/${id}/checkpoint`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/x-msgpack");
    const checkpoint = decode(new Uint8Array(await response.arrayBuffer())) as { state: { version: number; current: { epoch: number } }; metricsCount: number };
    expect(checkpoint.state.version).toBe(1);
    expect(checkpoint.state.current.epoch).toBe(2);
    expect(checkpoint.metricsCount).toBeGreaterThan(2);

    const csv = await call(`/v1/jobs/${id}/metrics?format=csv`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get("content-type")).toMatch(/^text\/csv/);
    const lines = (await csv.text()).trim().split("\n");
    expect(lines[0]).toBe("member,epoch,step,trainLoss,trainError,devLoss,devError,learningRate,examplesPerSecond,stepMs");
    expect(lines.slice(1).map((l) => l.split(",").slice(0, 2).join(","))).toEqual(["1,1", "1,2"]);
    expect((await call(`/v1/jobs/${id}/metrics?format=xml`)).status).toBe(400);
    expect((await call("/v1/jobs/job_nope/checkpoint")).status).toBe(404);
  });
});
