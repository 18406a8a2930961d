/**
 * The coordinator's data directory with real processes: a coordinator starts on damaged files of
 * every kind, survives its disk filling up (a 2 MiB tmpfs mounted by the test) and comes up again on
 * the full disk, and refuses to share its data directory with a second coordinator.
 */
import { parseJobSpec } from "../../core/job/spec.ts";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, open, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encode } from "../../core/wire/codec.ts";
import { FileStore } from "../../coordinator/store/file-store.ts";
import type { JobRecord } from "../../coordinator/store/job-store.ts";
import { coordinatorCommandLine } from "../../deploy/local-cluster.ts";
import { api } from "../helpers/api.ts";
import { startCoordinator } from "../helpers/coordinator-process.ts";
import { runCommand } from "../helpers/processes.ts";
import type { ServerProcess } from "../helpers/server-process.ts";
import { startWorker, type WorkerProcess } from "../helpers/worker-process.ts";

const SECRET = "durability-" + Math.random().toString(36).slice(2);
const run = promisify(execFile);
const scratch: string[] = [];
const running: ServerProcess[] = [];

afterAll(async () => {
  await Promise.all(running.map((p) => p.stop()));
  for (const dir of scratch) await rm(dir, { recursive: true, force: true });
});

async function scratchDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "edgeprop-durable-e2e-"));
  scratch.push(dir);
  return dir;
}

async function coordinator(dataDir: string, options: { workers?: string[]; runtime?: "deno" | "node" } = {}): Promise<ServerProcess> {
  const server = await startCoordinator({ dataDir, workers: options.workers, secret: SECRET, runtime: options.runtime });
  running.push(server);
  return server;
}

/** Polls until `ok` holds for what `read` returns; throws naming `what` after the deadline. */
async function until<T>(what: string, read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last value ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Every file name under `dir`, recursively. */
async function allFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await allFiles(path)));
    else out.push(path);
  }
  return out;
}

const spec = {
  name: "moons",
  dataset: { id: "builtin:moons" },
  model: { input: [2], layers: [{ type: "dense", units: 8 }, { type: "relu" }, { type: "dense", units: 2 }], output: "softmax" },
  optimizer: { type: "adam", learningRate: 0.02 },
  batchSize: 100,
  chunkSize: 25,
  epochs: 3,
};

function jobRecord(id: string, status: JobRecord["status"]): JobRecord {
  return {
    id, name: id, status, spec: parseJobSpec(spec), createdAt: new Date().toISOString(), startedAt: null, finishedAt: null,
    progress: { epoch: 0, epochs: 3, step: 0, steps: 0, member: 0, members: 1 },
    metrics: { trainLoss: null, trainError: null, devLoss: null, devError: null, testLoss: null, testError: null },
    diagnosis: null, error: null, throughput: { examplesPerSecond: null }, timing: { stepMs: null, breakdown: null },
    workers: ["http://127.0.0.1:9"], studyId: null, bestDev: null,
  };
}

/** Cuts a file to half its length (a torn write). */
async function truncate(path: string): Promise<void> {
  const bytes = await readFile(path);
  await writeFile(path, bytes.subarray(0, bytes.length >> 1));
}

/** Flips one bit in the middle of a file (a bad sector). */
async function flipBit(path: string): Promise<void> {
  const bytes = await readFile(path);
  bytes[bytes.length >> 1] ^= 0x10;
  await writeFile(path, bytes);
}

describe("a data directory with damaged files", () => {
  it("starts the coordinator; each damaged job fails alone with the file named, the rest is listed and served", async () => {
    const dir = await scratchDir();
    const store = new FileStore(dir);
    const metric = { kind: "step", member: 0, epoch: 0, step: 1, loss: 0.5, smoothedLoss: 0.5, learningRate: 0.1, skipped: false, timing: { plan: 0, encode: 0, transfer: 0, compute: 0, decode: 0, reduce: 0, optimizer: 0 } } as const;
    await store.putJob(jobRecord("job_ok", "succeeded"));
    await store.appendMetrics("job_ok", [metric, { ...metric, step: 2 }, { ...metric, step: 3 }]);
    await flipBit(join(dir, "jobs", "job_ok", "metrics.ndjson"));
    await store.putJob(jobRecord("job_torn", "running"));
    await truncate(join(dir, "jobs", "job_torn", "job.json"));
    await store.putJob(jobRecord("job_ckpt", "running"));
    const state = { params: new Float32Array(256) }; // large enough that the middle of the file is payload, not header
    await store.putCheckpoint("job_ckpt", encode({ state, metricsCount: 0 }));
    await store.putCheckpoint("job_ckpt", encode({ state, metricsCount: 0 }));
    await flipBit(join(dir, "jobs", "job_ckpt", "checkpoint.msgpack"));
    await writeFile(join(dir, "jobs", "job_ckpt", "checkpoint.msgpack.prev"), "");
    // A job of the previous version (no checksums) whose checkpoint a crash cut short.
    await mkdir(join(dir, "jobs", "job_legacy"), { recursive: true });
    await writeFile(join(dir, "jobs", "job_legacy", "job.json"), JSON.stringify(jobRecord("job_legacy", "running"), null, 1));
    await writeFile(join(dir, "jobs", "job_legacy", "checkpoint.msgpack"), encode({ state: { step: 1 }, metricsCount: 0 }).subarray(0, 6));
    const dataset = { id: "ds_bad", name: "bad", rows: 2, features: 1, classes: 2, classNames: ["0", "1"], createdAt: new Date().toISOString(), builtin: false };
    await store.putDataset(dataset, encode({ x: 1 }));
    await truncate(join(dir, "datasets", "ds_bad", "dataset.json"));
    await store.putDataset({ ...dataset, id: "ds_flip" }, encode({ features: new Float32Array(256) }));
    await flipBit(join(dir, "datasets", "ds_flip", "data.msgpack"));
    await mkdir(join(dir, "studies"), { recursive: true });
    await writeFile(join(dir, "studies", "study_bad.json"), "");

    const server = await coordinator(dir);
    const { status, body } = await api(server.url, "/v1/jobs");
    expect(status).toBe(200);
    expect(Object.fromEntries(body.jobs.map((j: any) => [j.id, j.status]))).toEqual({ job_ok: "succeeded", job_torn: "failed", job_ckpt: "failed", job_legacy: "failed" });
    expect((await api(server.url, "/v1/jobs/job_torn")).body.error).toMatch(/jobs\/job_torn\/job\.json is damaged/);
    expect((await api(server.url, "/v1/jobs/job_ckpt")).body.error).toMatch(/cannot resume: jobs\/job_ckpt\/checkpoint\.msgpack is damaged: its SHA-256 does not match/);
    expect((await api(server.url, "/v1/jobs/job_legacy")).body.error).toMatch(/jobs\/job_legacy\/checkpoint\.msgpack is damaged: it does not decode/);
    // The bit-flipped metrics line is left out, not misread.
    expect((await api(server.url, "/v1/jobs/job_ok/metrics")).body.steps.map((s: any) => s.step).length).toBe(2);
    const datasets = await api(server.url, "/v1/datasets");
    expect(datasets.status).toBe(200);
    expect(datasets.body.datasets.map((d: any) => d.id)).toContain("ds_flip");
    expect(datasets.body.datasets.map((d: any) => d.id)).not.toContain("ds_bad");
    const flipped = await api(server.url, "/v1/jobs", { body: { ...spec, dataset: { id: "ds_flip" }, workers: { urls: ["http://127.0.0.1:9"] } } });
    expect(flipped.status).toBe(500);
    expect(flipped.body.error).toEqual({ code: "store_damaged", message: expect.stringMatching(/datasets\/ds_flip\/data\.msgpack is damaged/) });
    expect((await api(server.url, "/v1/studies")).status).toBe(200);
  }, 60_000);
});

describe("a full disk", () => {
  let mountPoint: string;
  let mounted = false;
  let mountError = "";
  let worker: WorkerProcess;

  beforeAll(async () => {
    mountPoint = await scratchDir();
    try {
      await run("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", mountPoint]);
      mounted = true;
    } catch (error) {
      mountError = (error as { stderr?: string }).stderr || (error as Error).message;
    }
    worker = await startWorker("deno", { secret: SECRET });
  }, 60_000);

  afterAll(async () => {
    await Promise.all(running.map((p) => p.stop()));
    await worker?.stop();
    if (mounted) await run("umount", [mountPoint]);
  });

  /** Writes a filler file until the disk refuses (ENOSPC); returns how many bytes went in. */
  async function fill(name: string): Promise<number> {
    const file = await open(join(mountPoint, name), "a");
    let written = 0;
    try {
      for (const size of [65536, 4096, 512, 1]) {
        for (;;) {
          try {
            written += (await file.write(new Uint8Array(size))).bytesWritten;
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
            break;
          }
        }
      }
    } finally {
      await file.close();
    }
    return written;
  }

  it("fails the running job with the error, keeps the API up, leaves no temp file, and a restart on the full disk comes up", async () => {
    if (!mounted) {
      // Not root (or no tmpfs): tests/coordinator/store-durability.test.ts covers these paths with an injected ENOSPC.
      console.warn(`full-disk e2e: cannot mount a tmpfs here (${mountError.trim()}); the injected-ENOSPC test covers it`);
      expect(mountError).not.toBe("");
      return;
    }
    const dataDir = join(mountPoint, "data");
    const first = await coordinator(dataDir, { workers: [worker.url] });
    const submitted = await api(first.url, "/v1/jobs", { body: { ...spec, epochs: 500, checkpointEvery: 1 } });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
    const id = submitted.body.id;
    await until("the job to have checkpointed", () => api(first.url, `/v1/jobs/${id}`), (r) => r.body.progress.step >= 2);
    expect(await fill("filler-1")).toBeGreaterThan(0);

    const record = await until("the job to fail", () => api(first.url, `/v1/jobs/${id}`), (r) => r.body.status !== "running", 30_000);
    expect(record.body.status).toBe("failed");
    expect(record.body.error).toMatch(/Cannot write jobs\/job_\w+\/\S+ in the data directory: the disk is full \(ENOSPC\)/);
    const events = await (await fetch(`${first.url}/v1/jobs/${id}/events`)).text();
    const last = events.trimEnd().split("\n\n").at(-1)!;
    expect(last).toMatch(/^event: failed$/m);
    expect(last).toMatch(/^data: .*ENOSPC/m);
    // The API is up: listings answer, an upload that cannot be stored is a 507 naming the file.
    expect((await api(first.url, "/v1/workers")).status).toBe(200);
    expect((await api(first.url, "/v1/jobs")).body.jobs.map((j: any) => j.status)).toEqual(["failed"]);
    const upload = await api(first.url, "/v1/datasets?label=y", { raw: "x,y\n" + "1,0\n".repeat(20_000), contentType: "text/csv" });
    expect(upload.status).toBe(507);
    expect(upload.body.error.message).toMatch(/datasets\/ds_\w+\/data\.msgpack in the data directory: the disk is full/);
    expect((await allFiles(dataDir)).filter((f) => f.includes(".tmp-"))).toEqual([]);

    await first.stop();
    await fill("filler-2"); // whatever the failed writes gave back
    const second = await coordinator(dataDir, { workers: [worker.url] });
    const again = await until("the job to be settled after the restart", () => api(second.url, `/v1/jobs/${id}`), (r) => r.body.status !== "running" && r.body.status !== "queued", 30_000);
    expect(again.body.status).toBe("failed");
    expect(again.body.error).toMatch(/ENOSPC/);
    expect((await allFiles(dataDir)).filter((f) => f.includes(".tmp-"))).toEqual([]);
    await second.stop();
  }, 120_000);
});

describe("one coordinator per data directory", () => {
  it("refuses a second coordinator naming the holder, takes over the lock of a killed one, and releases it on a clean stop", async () => {
    const dir = await scratchDir();
    const lock = join(dir, "coordinator.lock");
    const first = await coordinator(dir);
    const holder = JSON.parse(await readFile(lock, "utf8"));
    expect(holder).toMatchObject({ pid: first.child.pid, hostname: expect.any(String), startedAt: expect.any(String) });

    // Node asks the pid; Deno (no --allow-run) watches the lock's heartbeat: both refuse.
    for (const runtime of ["node", "deno"] as const) {
      const command = coordinatorCommandLine(runtime);
      const refused = await runCommand(command.file, [...command.args, "--port", "0", "--data-dir", dir], { timeoutMs: 30_000 });
      expect(refused.code, runtime).toBe(1);
      expect(refused.stderr, runtime).toMatch(new RegExp(`in use by the coordinator with pid ${first.child.pid} on ${holder.hostname} \\(since ${holder.startedAt}\\)`));
    }
    expect((await api(first.url, "/v1/jobs")).status).toBe(200); // the holder is untouched

    await first.kill();
    const second = await coordinator(dir, { runtime: "node" });
    expect(second.stderr()).toMatch(new RegExp(`taking over .*coordinator\\.lock: its holder, pid ${first.child.pid}`));
    expect(JSON.parse(await readFile(lock, "utf8")).pid).toBe(second.child.pid);
    await second.stop();
    expect(second.child.exitCode).toBe(0);
    await expect(readFile(lock)).rejects.toThrow(/ENOENT/);
  }, 90_000);
});
