// The coordinator's single-executable build, offline. deploy/build/coordinator.ts stages the folder
// that `deno compile` embeds (the bundle, tfjs .wasm, dashboard, MNIST, import map); this test runs
// that folder, alone and readable only to itself, as the binary would run it, against two real Deno
// workers: a small job submitted over HTTP with an API token succeeds, the dashboard and the builtin
// MNIST set load. The compile step itself needs Deno's runtime binary (denort), which is downloaded
// and so is not run here; its command line is checked.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileArgs, stageCoordinator, type StagedCoordinator } from "../../deploy/build/coordinator.ts";
import { COORDINATOR_DENO_PERMISSIONS } from "../../deploy/local-cluster.ts";
import { api, waitForJob } from "../helpers/api.ts";
import { denoBin } from "../helpers/processes.ts";
import { type ServerProcess, startServer } from "../helpers/server-process.ts";
import { startWorker, type WorkerProcess } from "../helpers/worker-process.ts";

const SECRET = "coordinator-binary-secret-0123456789";
const TOKEN = "coordinator-binary-token";
let tmp: string;
let staged: StagedCoordinator;
let workers: WorkerProcess[] = [];
let coordinator: ServerProcess | undefined;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "edgeprop-coordinator-test-"));
  const started = performance.now();
  staged = await stageCoordinator(join(tmp, "staged"));
  console.info(`[coordinator build] staged ${(staged.bytes / 1024 / 1024).toFixed(1)} MiB in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  workers = await Promise.all([startWorker("deno", { secret: SECRET }), startWorker("deno", { secret: SECRET })]);
  const dataDir = join(tmp, "data");
  // What the binary has: its embedded folder (read-only), the data directory, the network.
  coordinator = await startServer("the staged coordinator", {
    file: denoBin,
    args: [
      "run", "--config", staged.config, "--allow-net", `--allow-read=${staged.dir},${dataDir}`, `--allow-write=${dataDir}`, "--allow-env", "--allow-sys",
      staged.entry, "--host", "127.0.0.1", "--port", "0", "--data-dir", dataDir, "--workers", workers.map((w) => w.url).join(","),
    ],
    env: { ...process.env, EDGEPROP_WORKER_SECRET: SECRET, EDGEPROP_API_TOKEN: TOKEN, EDGEPROP_WORKERS: "" },
    healthPath: "/v1/workers",
    headers: { authorization: `Bearer ${TOKEN}` },
    timeoutMs: 60_000,
  });
}, 120_000);

afterAll(async () => {
  await coordinator?.stop();
  await Promise.all(workers.map((w) => w.stop()));
  if (tmp) await rm(tmp, { recursive: true, force: true });
}, 30_000);

describe("the coordinator as one executable (staged folder, offline)", () => {
  it("trains a small job on real workers, behind its API token", async () => {
    const base = coordinator!.url;
    expect((await api(base, "/v1/jobs")).status).toBe(401);
    const submitted = await api(base, "/v1/jobs", {
      token: TOKEN,
      body: {
        name: "binary",
        dataset: { id: "builtin:moons" },
        model: { input: [2], layers: [{ type: "dense", units: 8 }, { type: "relu" }, { type: "dense", units: 2 }], output: "softmax" },
        batchSize: 50,
        epochs: 2,
        seed: 3,
      },
    });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
    const record = await waitForJob(base, submitted.body.id, 120_000, TOKEN);
    expect(record.status, JSON.stringify(record.error ?? null)).toBe("succeeded");
    expect(record.metrics.devError).toBeLessThan(0.5);
  }, 150_000);

  it("serves the dashboard and trains on the builtin MNIST set, both read from the folder", async () => {
    const page = await fetch(coordinator!.url + "/");
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/^<!doctype html>/);
    const script = await fetch(coordinator!.url + "/dashboard/app.js");
    expect(script.status).toBe(200);
    expect((await script.arrayBuffer()).byteLength).toBeGreaterThan(1000);
    const submitted = await api(coordinator!.url, "/v1/jobs", {
      token: TOKEN,
      body: {
        name: "binary-mnist",
        dataset: { id: "builtin:mnist" },
        model: { input: [784], layers: [{ type: "dense", units: 16 }, { type: "relu" }, { type: "dense", units: 10 }], output: "softmax" },
        batchSize: 500,
        epochs: 1,
        seed: 3,
      },
    });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
    const record = await waitForJob(coordinator!.url, submitted.body.id, 120_000, TOKEN);
    expect(record.status, JSON.stringify(record.error ?? null)).toBe("succeeded");
    // Better than chance (0.9) after one epoch of ~18 steps: the digits were read, not noise.
    expect(record.metrics.devError).toBeLessThan(0.8);
  }, 150_000);

  it("compiles that folder alone, with the coordinator's permissions", () => {
    const args = compileArgs(staged, "/out/edgeprop-coordinator");
    expect(args.slice(0, 4)).toEqual(["compile", "--no-check", "--config", staged.config]);
    expect(args).toEqual(expect.arrayContaining([...COORDINATOR_DENO_PERMISSIONS, "--include", staged.dir, "--output", "/out/edgeprop-coordinator"]));
    expect(args.at(-1)).toBe(staged.entry);
  });
});
