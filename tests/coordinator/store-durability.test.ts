/**
 * The file store against damaged files (truncated, one bit flipped, empty) of every kind it writes,
 * files of the previous version (no checksum), and failed writes: nothing damaged is misread, one
 * damaged job fails alone, a damaged newest checkpoint falls back to the previous one, and a failed
 * write fails its job with a clear error instead of killing the process.
 */
import { parseJobSpec } from "../../core/job/spec.ts";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useBackend } from "../../core/tf.ts";
import { decode, encode } from "../../core/wire/codec.ts";
import { DatasetRegistry } from "../../coordinator/datasets/registry.ts";
import { JobManager } from "../../coordinator/jobs/job-manager.ts";
import { InProcessPool } from "../../coordinator/pool/in-process-pool.ts";
import { FileStore } from "../../coordinator/store/file-store.ts";
import type { JobRecord } from "../../coordinator/store/job-store.ts";
import type { StudyRecord } from "../../coordinator/studies/study-record.ts";
import type { MetricsEntry } from "../../coordinator/training/trainer.ts";

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
beforeAll(async () => {
  await useBackend("wasm");
});

async function scratch(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "edgeprop-durable-"));
  dirs.push(dir);
  return dir;
}

type Damage = "truncated" | "bit-flipped" | "empty";
const DAMAGES: readonly Damage[] = ["truncated", "bit-flipped", "empty"];

/** Damages a file in place the way a torn write, a bad sector or a crash before the first write would. */
async function damage(path: string, how: Damage): Promise<void> {
  const bytes = new Uint8Array(await readFile(path));
  if (how === "empty") return await writeFile(path, new Uint8Array());
  if (how === "truncated") return await writeFile(path, bytes.subarray(0, Math.floor(bytes.length / 2)));
  const flipped = bytes.slice();
  flipped[Math.floor(flipped.length * 0.6)] ^= 0x04;
  await writeFile(path, flipped);
}

const spec = (over: object = {}) => ({
  name: "moons",
  dataset: { id: "builtin:moons" },
  model: { input: [2], layers: [{ type: "dense", units: 8 }, { type: "relu" }, { type: "dense", units: 2 }], output: "softmax" },
  optimizer: { type: "adam", learningRate: 0.02 },
  batchSize: 100,
  chunkSize: 25,
  epochs: 3,
  checkpointEvery: 2,
  ...over,
});

function jobRecord(id: string, over: Partial<JobRecord> = {}): JobRecord {
  return {
    id, name: id, status: "succeeded", spec: parseJobSpec(spec()), createdAt: `2026-01-01T00:00:0${id.length % 10}.000Z`, startedAt: null, finishedAt: null,
    progress: { epoch: 0, epochs: 3, step: 0, steps: 0, member: 0, members: 1 },
    metrics: { trainLoss: 0.5, trainError: null, devLoss: null, devError: null, testLoss: null, testError: null },
    diagnosis: null, error: null, throughput: { examplesPerSecond: null }, timing: { stepMs: null, breakdown: null },
    workers: ["in-process"], studyId: null, bestDev: null, ...over,
  };
}

const stepEntry = (step: number, loss: number): MetricsEntry => ({
  kind: "step", member: 0, epoch: 0, step, loss, smoothedLoss: loss, learningRate: 0.1, skipped: false,
  timing: { plan: 0, encode: 0, transfer: 0, compute: 0, decode: 0, reduce: 0, optimizer: 0 },
} as MetricsEntry);

function studyRecord(id: string, round: number): StudyRecord {
  return { id, name: "s", status: "succeeded", spec: {}, createdAt: "2026-01-01T00:00:00.000Z", finishedAt: null, error: null, round, spaces: [], trials: [] } as unknown as StudyRecord;
}

describe("damaged files of every kind", () => {
  for (const how of DAMAGES) {
    it(`a ${how} job.json fails that job alone, with an error naming the file; the listing goes on`, async () => {
      const dir = await scratch();
      const store = new FileStore(dir);
      await store.putJob(jobRecord("job_good"));
      await store.putJob(jobRecord("job_bad"));
      await damage(join(dir, "jobs", "job_bad", "job.json"), how);
      const bad = await store.getJob("job_bad");
      expect(bad).toMatchObject({ id: "job_bad", status: "failed" });
      expect(bad!.error).toMatch(/jobs\/job_bad\/job\.json is damaged/);
      expect((await store.listJobs()).map((j) => [j.id, j.status]).sort()).toEqual([["job_bad", "failed"], ["job_good", "succeeded"]]);
    });

    it(`a ${how} job.json falls back to the previous record when there is one`, async () => {
      const dir = await scratch();
      const store = new FileStore(dir);
      await store.putJob(jobRecord("job_a", { bestDev: 1 }));
      await store.putJob(jobRecord("job_a", { bestDev: 2 }));
      await damage(join(dir, "jobs", "job_a", "job.json"), how);
      expect(await store.getJob("job_a")).toMatchObject({ status: "succeeded", bestDev: 1 });
    });

    it(`a ${how} newest checkpoint falls back to the previous one; both damaged is a clear error`, async () => {
      const dir = await scratch();
      const store = new FileStore(dir);
      const first = new Uint8Array(encode({ state: { n: 1 }, metricsCount: 4 }));
      await store.putCheckpoint("job_c", first);
      await store.putCheckpoint("job_c", encode({ state: { n: 2 }, metricsCount: 8 }));
      await damage(join(dir, "jobs", "job_c", "checkpoint.msgpack"), how);
      expect(await store.getCheckpoint("job_c")).toEqual(first);
      await damage(join(dir, "jobs", "job_c", "checkpoint.msgpack.prev"), how);
      await expect(store.getCheckpoint("job_c")).rejects.toThrow(/jobs\/job_c\/checkpoint\.msgpack is damaged/);
    });

    it(`a ${how} model, dataset or study is a clear error, and the listings leave it out`, async () => {
      const dir = await scratch();
      const store = new FileStore(dir);
      await store.putModel("job_m", encode({ members: [1, 2, 3] }));
      await damage(join(dir, "jobs", "job_m", "model.msgpack"), how);
      await expect(store.getModel("job_m")).rejects.toThrow(/jobs\/job_m\/model\.msgpack is damaged/);

      const record = { id: "ds_x", name: "x", rows: 2, features: 1, classes: 2, classNames: ["a", "b"], createdAt: "2026-01-01T00:00:00.000Z", builtin: false };
      for (const file of ["data.msgpack", "dataset.json"]) {
        await store.putDataset(record, encode({ features: new Float32Array([1, 2]) }));
        await store.putDataset({ ...record, id: "ds_ok", createdAt: "2025-01-01T00:00:00.000Z" }, encode({ ok: true }));
        await damage(join(dir, "datasets", "ds_x", file), how);
        await expect(store.getDataset("ds_x")).rejects.toThrow(new RegExp(`datasets/ds_x/${file.replace(".", "\\.")} is damaged`));
        expect((await store.listDatasets()).map((d) => d.id)).toEqual(file === "dataset.json" ? ["ds_ok"] : ["ds_ok", "ds_x"]);
      }

      await store.putStudy(studyRecord("study_a", 1));
      await store.putStudy(studyRecord("study_a", 2));
      await store.putStudy(studyRecord("study_b", 1));
      await damage(join(dir, "studies", "study_a.json"), how);
      expect(await store.getStudy("study_a")).toMatchObject({ round: 1 }); // the previous copy
      await damage(join(dir, "studies", "study_a.json.prev"), how);
      await expect(store.getStudy("study_a")).rejects.toThrow(/studies\/study_a\.json is damaged/);
      expect((await store.listStudies()).map((s) => s.id)).toEqual(["study_b"]);
    });
  }

  it("lists a study killed between its two renames (only its previous copy left), as it reads it", async () => {
    const dir = await scratch();
    const store = new FileStore(dir);
    await store.putStudy(studyRecord("study_a", 1));
    await store.putStudy(studyRecord("study_a", 2));
    await store.putStudy(studyRecord("study_b", 1));
    // The newest copy renamed aside, the new one not yet in place: what a SIGKILL there leaves.
    await rm(join(dir, "studies", "study_a.json"));
    expect(await store.getStudy("study_a")).toMatchObject({ round: 1 });
    expect((await store.listStudies()).map((s) => [s.id, s.round])).toEqual([["study_a", 1], ["study_b", 1]]);
  });

  it("a metrics line with a flipped bit is dropped, not misread; a torn or empty log reads as what is whole", async () => {
    const dir = await scratch();
    const store = new FileStore(dir);
    await store.appendMetrics("job_x", [stepEntry(1, 0.25), stepEntry(2, 0.5), stepEntry(3, 0.75)]);
    const path = join(dir, "jobs", "job_x", "metrics.ndjson");
    const text = await readFile(path, "utf8");
    // 0.5 -> 0.4 in the second line: still valid JSON, a wrong number without a checksum.
    const second = text.indexOf("0.5");
    await writeFile(path, text.slice(0, second) + "0.4" + text.slice(second + 3));
    expect((await store.readMetrics("job_x")).map((e) => e.step)).toEqual([1, 3]);
    await writeFile(path, text.slice(0, text.length - 10));
    expect((await store.readMetrics("job_x")).map((e) => e.step)).toEqual([1, 2]);
    await writeFile(path, "");
    expect(await store.readMetrics("job_x")).toEqual([]);
  });
});

describe("files of the previous version (no checksum)", () => {
  it("are read as they are; damaged ones are reported, not misread", async () => {
    const dir = await scratch();
    const jobDir = join(dir, "jobs", "job_old");
    await mkdir(jobDir, { recursive: true });
    await writeFile(join(jobDir, "job.json"), JSON.stringify(jobRecord("job_old"), null, 1));
    await writeFile(join(jobDir, "checkpoint.msgpack"), encode({ state: { n: 1 }, metricsCount: 0 }));
    await writeFile(join(jobDir, "model.msgpack"), encode({ members: [] }));
    await writeFile(join(jobDir, "metrics.ndjson"), JSON.stringify(stepEntry(1, 0.5)) + "\n");
    const store = new FileStore(dir);
    expect(await store.getJob("job_old")).toMatchObject({ id: "job_old", status: "succeeded" });
    expect(decode((await store.getCheckpoint("job_old"))!)).toEqual({ state: { n: 1 }, metricsCount: 0 });
    expect(decode((await store.getModel("job_old"))!)).toEqual({ members: [] });
    expect((await store.readMetrics("job_old")).map((e) => e.step)).toEqual([1]);
    await damage(join(jobDir, "job.json"), "truncated");
    expect(await store.getJob("job_old")).toMatchObject({ status: "failed", error: expect.stringMatching(/job\.json is damaged/) });
  });
});

describe("the job manager with damaged files", () => {
  const manager = (store: FileStore) => new JobManager({ store, registry: new DatasetRegistry(store), defaultWorkers: ["in-process"], createPool: async () => new InProcessPool({ workers: 2 }) });

  it("resumes from the previous checkpoint when the newest is damaged, with the uninterrupted parameters; a damaged job fails alone", async () => {
    const dir = await scratch();
    const store = new FileStore(dir);
    const first = manager(store);
    const { id } = await first.submit(spec({ epochs: 4, checkpointEvery: 3 }));
    await first.settled(id);
    const reference = decode((await store.getModel(id))!);
    const done = (await store.getJob(id))!;
    expect(done.status).toBe("succeeded");
    // As if the coordinator had died while writing the last checkpoint, the job still running.
    await store.putJob({ ...done, status: "running", finishedAt: null });
    await rm(join(dir, "jobs", id, "model.msgpack"));
    await damage(join(dir, "jobs", id, "checkpoint.msgpack"), "truncated");
    // A second running job whose only checkpoint is a damaged legacy file, a third whose job.json is torn.
    await store.putJob(jobRecord("job_legacy", { status: "running" }));
    await writeFile(join(dir, "jobs", "job_legacy", "checkpoint.msgpack"), encode({ state: { n: 1 }, metricsCount: 0 }).subarray(0, 5));
    await store.putJob(jobRecord("job_torn", { status: "running" }));
    await damage(join(dir, "jobs", "job_torn", "job.json"), "truncated");

    const second = manager(store);
    expect(await second.resumeAll()).toBe(1);
    await second.settled(id);
    expect((await second.get(id))!.status).toBe("succeeded");
    expect(decode((await store.getModel(id))!)).toEqual(reference);
    const legacy = (await second.get("job_legacy"))!;
    expect(legacy.status).toBe("failed");
    expect(legacy.error).toMatch(/jobs\/job_legacy\/checkpoint\.msgpack is damaged/);
    expect((await second.get("job_torn"))!).toMatchObject({ status: "failed", error: expect.stringMatching(/job_torn\/job\.json is damaged/) });
    expect((await second.list()).length).toBe(3);
  }, 60_000);
});

/** A FileStore whose writes fail with ENOSPC once `full` is set, as on a full disk. */
class FullDiskStore extends FileStore {
  full = false;
  #check(): void {
    if (this.full) throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
  }
  override async putJob(job: JobRecord) {
    this.#check();
    return super.putJob(job);
  }
  override async putCheckpoint(id: string, bytes: Uint8Array) {
    this.#check();
    return super.putCheckpoint(id, bytes);
  }
  override async appendMetrics(id: string, entries: readonly MetricsEntry[]) {
    this.#check();
    return super.appendMetrics(id, entries);
  }
  override async writeMetrics(id: string, entries: readonly MetricsEntry[]) {
    this.#check();
    return super.writeMetrics(id, entries);
  }
}

describe("a failed store write", () => {
  it("fails its job with the error, visible in the record and as a failed event, and rejects nothing unhandled", async () => {
    const dir = await scratch();
    const store = new FullDiskStore(dir);
    const jobs = new JobManager({ store, registry: new DatasetRegistry(store), defaultWorkers: ["in-process"], createPool: async () => new InProcessPool({ workers: 1 }) });
    const { id } = await jobs.submit(spec({ epochs: 50, checkpointEvery: 1 }));
    const events: string[] = [];
    const failed = new Promise<void>((resolve) => jobs.events.subscribe(id, 0, (e) => {
      events.push(e.type);
      if (e.type === "checkpoint") store.full = true; // the disk fills up after the first checkpoint
      if (e.type === "failed") resolve();
    }));
    await jobs.settled(id);
    await failed;
    const record = (await jobs.get(id))!;
    expect(record.status).toBe("failed");
    expect(record.error).toMatch(/ENOSPC/);
    expect((await jobs.list()).find((j) => j.id === id)!.status).toBe("failed");
    // A restart on the full disk: resuming cannot write either, and says so on that job.
    const restarted = new JobManager({ store, registry: new DatasetRegistry(store), defaultWorkers: ["in-process"], createPool: async () => new InProcessPool({ workers: 1 }) });
    await restarted.resumeAll();
    await restarted.settled(id);
    expect((await restarted.get(id))!).toMatchObject({ status: "failed", error: expect.stringMatching(/ENOSPC/) });
    expect((await readdir(join(dir, "jobs", id))).filter((n) => n.includes(".tmp-"))).toEqual([]);
  }, 60_000);
});
