/**
 * The embedded job store: one folder per job under `<dataDir>/jobs/<id>/` (job.json, metrics.ndjson,
 * checkpoint.msgpack, model.msgpack), one per uploaded dataset under `<dataDir>/datasets/<id>/` and
 * one file per hyperparameter study, `<dataDir>/studies/<id>.json`.
 * Every whole-file write goes to a temporary file that is fsynced and renamed over the target, so a
 * coordinator killed at any moment leaves either the old or the new file, never half of one. The
 * metrics log is appended line by line; a torn last line is ignored on read.
 * Uses node:fs, which both Node and Deno provide.
 */
import { randomBytes } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import type { MetricsEntry } from "../training/trainer.ts";
import type { StudyRecord } from "../studies/study-record.ts";
import type { DatasetRecord, JobRecord, JobStore } from "./job-store.ts";

const ID = /^[A-Za-z0-9_-]{1,64}$/;

export class FileStore implements JobStore {
  readonly #root: string;

  constructor(dataDir: string) {
    this.#root = dataDir;
  }

  get dataDir(): string {
    return this.#root;
  }

  #jobDir(id: string): string {
    if (!ID.test(id)) throw new RangeError(`Cannot use job id ${JSON.stringify(id)}: ids are 1-64 characters of [A-Za-z0-9_-]`);
    return join(this.#root, "jobs", id);
  }

  #datasetDir(id: string): string {
    if (!ID.test(id)) throw new RangeError(`Cannot use dataset id ${JSON.stringify(id)}: ids are 1-64 characters of [A-Za-z0-9_-]`);
    return join(this.#root, "datasets", id);
  }

  async putJob(job: JobRecord): Promise<void> {
    await writeAtomic(join(this.#jobDir(job.id), "job.json"), new TextEncoder().encode(JSON.stringify(job, null, 1)));
  }

  async getJob(id: string): Promise<JobRecord | null> {
    if (!ID.test(id)) return null;
    const bytes = await readOptional(join(this.#jobDir(id), "job.json"));
    return bytes ? (JSON.parse(new TextDecoder().decode(bytes)) as JobRecord) : null;
  }

  async listJobs(): Promise<JobRecord[]> {
    const ids = await listDir(join(this.#root, "jobs"));
    const jobs = await Promise.all(ids.map((id) => this.getJob(id)));
    return jobs.filter((j): j is JobRecord => j !== null).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  async appendMetrics(id: string, entries: readonly MetricsEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const dir = this.#jobDir(id);
    await mkdir(dir, { recursive: true });
    const file = await open(join(dir, "metrics.ndjson"), "a");
    try {
      await file.write(entries.map((e) => JSON.stringify(e)).join("\n") + "\n");
    } finally {
      await file.close();
    }
  }

  async readMetrics(id: string): Promise<MetricsEntry[]> {
    if (!ID.test(id)) return [];
    const bytes = await readOptional(join(this.#jobDir(id), "metrics.ndjson"));
    if (!bytes) return [];
    const out: MetricsEntry[] = [];
    for (const line of new TextDecoder().decode(bytes).split("\n")) {
      if (!line) continue;
      try {
        out.push(JSON.parse(line) as MetricsEntry);
      } catch {
        // A line torn by a crash mid-append: the entries after the checkpoint are recomputed anyway.
      }
    }
    return out;
  }

  async writeMetrics(id: string, entries: readonly MetricsEntry[]): Promise<void> {
    const text = entries.map((e) => JSON.stringify(e) + "\n").join("");
    await writeAtomic(join(this.#jobDir(id), "metrics.ndjson"), new TextEncoder().encode(text));
  }

  async putCheckpoint(id: string, bytes: Uint8Array): Promise<void> {
    await writeAtomic(join(this.#jobDir(id), "checkpoint.msgpack"), bytes);
  }

  async getCheckpoint(id: string): Promise<Uint8Array | null> {
    return await readOptional(join(this.#jobDir(id), "checkpoint.msgpack"));
  }

  async putModel(id: string, bytes: Uint8Array): Promise<void> {
    await writeAtomic(join(this.#jobDir(id), "model.msgpack"), bytes);
  }

  async getModel(id: string): Promise<Uint8Array | null> {
    if (!ID.test(id)) return null;
    return await readOptional(join(this.#jobDir(id), "model.msgpack"));
  }

  async putDataset(record: DatasetRecord, bytes: Uint8Array): Promise<void> {
    const dir = this.#datasetDir(record.id);
    await writeAtomic(join(dir, "data.msgpack"), bytes);
    await writeAtomic(join(dir, "dataset.json"), new TextEncoder().encode(JSON.stringify(record, null, 1)));
  }

  async getDataset(id: string): Promise<{ record: DatasetRecord; bytes: Uint8Array } | null> {
    if (!ID.test(id)) return null;
    const dir = this.#datasetDir(id);
    const meta = await readOptional(join(dir, "dataset.json"));
    const bytes = await readOptional(join(dir, "data.msgpack"));
    if (!meta || !bytes) return null;
    return { record: JSON.parse(new TextDecoder().decode(meta)) as DatasetRecord, bytes };
  }

  async listDatasets(): Promise<DatasetRecord[]> {
    const ids = await listDir(join(this.#root, "datasets"));
    const out: DatasetRecord[] = [];
    for (const id of ids) {
      const meta = ID.test(id) ? await readOptional(join(this.#datasetDir(id), "dataset.json")) : null;
      if (meta) out.push(JSON.parse(new TextDecoder().decode(meta)) as DatasetRecord);
    }
    return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  #studyFile(id: string): string {
    if (!ID.test(id)) throw new RangeError(`Cannot use study id ${JSON.stringify(id)}: ids are 1-64 characters of [A-Za-z0-9_-]`);
    return join(this.#root, "studies", `${id}.json`);
  }

  async putStudy(study: StudyRecord): Promise<void> {
    await writeAtomic(this.#studyFile(study.id), new TextEncoder().encode(JSON.stringify(study, null, 1)));
  }

  async getStudy(id: string): Promise<StudyRecord | null> {
    if (!ID.test(id)) return null;
    const bytes = await readOptional(this.#studyFile(id));
    return bytes ? (JSON.parse(new TextDecoder().decode(bytes)) as StudyRecord) : null;
  }

  async listStudies(): Promise<StudyRecord[]> {
    const names = await listDir(join(this.#root, "studies"));
    const ids = names.filter((n) => n.endsWith(".json")).map((n) => n.slice(0, -".json".length));
    const studies = await Promise.all(ids.map((id) => this.getStudy(id)));
    return studies.filter((s): s is StudyRecord => s !== null).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }
}

/** Writes `bytes` to `path` atomically: temp file in the same folder, fsync, rename. */
export async function writeAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const dir = path.slice(0, path.lastIndexOf("/"));
  await mkdir(dir, { recursive: true });
  const temp = `${path}.tmp-${randomBytes(6).toString("hex")}`;
  const file = await open(temp, "w");
  try {
    await file.write(bytes);
    await file.sync();
  } finally {
    await file.close();
  }
  try {
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

async function readOptional(path: string): Promise<Uint8Array | null> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}

async function listDir(path: string): Promise<string[]> {
  try {
    return (await readdir(path)).filter((name) => !name.startsWith("."));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}
