/**
 * A running job's model: `GET /v1/jobs/:id/model` (and `/predict`, the exports) answer from the job's
 * last checkpoint while it trains, with the parameters that checkpoint holds; before the first
 * checkpoint there is no model (404). A pool that holds its second epoch's first step keeps the job
 * running for as long as the test needs.
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
import { FileStore } from "../../coordinator/store/file-store.ts";
import { gatedPool } from "../helpers/gated-pool.ts";
import { within } from "../helpers/wait.ts";

let dir: string;

beforeAll(async () => {
  await useBackend("wasm");
  dir = await mkdtemp(join(tmpdir(), "edgeprop-running-model-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A pool whose step `holdAt` (0-based) waits until `release` is called; `held` resolves when it is reached. */
function holdingPool(holdAt: number) {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let reached!: () => void;
  const held = new Promise<void>((resolve) => (reached = resolve));
  const pool = gatedPool((step) => {
    if (step !== holdAt) return;
    reached();
    return released;
  });
  return { pool, held, release };
}

describe("a running job's model", () => {
  it("is the model of its last checkpoint: downloadable, and /predict answers with it", async () => {
    // moons: 600 training rows at batch 100 is 6 steps an epoch; the first step of epoch 2 is held.
    const { pool, held, release } = holdingPool(6);
    const store = new FileStore(dir);
    const jobs = new JobManager({ store, registry: new DatasetRegistry(store), defaultWorkers: ["in-process"], createPool: async () => pool });
    const app = createCoordinatorApp({ jobs, datasets: new DatasetRegistry(store) });
    const spec = {
      dataset: { id: "builtin:moons" },
      model: { input: [2], layers: [{ type: "dense", units: 8 }, { type: "relu" }, { type: "dense", units: 2 }], output: "softmax" },
      batchSize: 100, chunkSize: 25, epochs: 3, checkpointEvery: 0, deterministic: true,
    };
    const submitted = await app.request("/v1/jobs", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(spec) });
    const { id } = (await submitted.json()) as { id: string };
    await within(held, "the job to reach its held step", 30_000);
    expect((await (await app.request(`/v1/jobs/${id}`)).json()).status).toBe("running");

    // The epoch-end checkpoint: the model of epoch 1, the same parameters the checkpoint file holds.
    const checkpoint = decode(new Uint8Array(await (await app.request(`/v1/jobs/${id}/checkpoint`)).arrayBuffer())) as { state: { current: { params: Record<string, Float32Array> } } };
    const model = await app.request(`/v1/jobs/${id}/model?format=json`);
    expect(model.status).toBe(200);
    const json = (await model.json()) as { parameters: Record<string, { data: number[] }> };
    for (const [name, values] of Object.entries(checkpoint.state.current.params)) expect(json.parameters[name].data, name).toEqual(Array.from(values));
    const bytes = await app.request(`/v1/jobs/${id}/model`);
    expect(bytes.status).toBe(200);
    expect((decode(new Uint8Array(await bytes.arrayBuffer())) as { members: unknown[] }).members.length).toBe(1);
    const predicted = await app.request(`/v1/jobs/${id}/predict`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ inputs: [[0, 0], [1, 0.5]] }) });
    expect(predicted.status).toBe(200);
    expect(((await predicted.json()) as { outputs: number[][] }).outputs).toHaveLength(2);

    release();
    await within(jobs.settled(id), "the job to end", 60_000);
    expect((await (await app.request(`/v1/jobs/${id}`)).json()).status).toBe("succeeded");
    await jobs.shutdown();
  });

  it("is not there before the first checkpoint", async () => {
    const { pool, held, release } = holdingPool(1);
    const store = new FileStore(join(dir, "second"));
    const jobs = new JobManager({ store, registry: new DatasetRegistry(store), defaultWorkers: ["in-process"], createPool: async () => pool });
    const app = createCoordinatorApp({ jobs, datasets: new DatasetRegistry(store) });
    const spec = { dataset: { id: "builtin:moons" }, model: { input: [2], layers: [{ type: "dense", units: 2 }], output: "softmax" }, batchSize: 100, epochs: 2, checkpointEvery: 0 };
    const { id } = (await (await app.request("/v1/jobs", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(spec) })).json()) as { id: string };
    await within(held, "the job to reach its held step", 30_000);
    expect((await app.request(`/v1/jobs/${id}/model`)).status).toBe(404);
    release();
    await within(jobs.settled(id), "the job to end", 60_000);
    await jobs.shutdown();
  });
});
