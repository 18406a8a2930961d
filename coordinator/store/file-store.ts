/**
 * The embedded job store: one folder per job under `<dataDir>/jobs/<id>/` (job.json, metrics.ndjson,
 * checkpoint.msgpack, model.msgpack), one per uploaded dataset under `<dataDir>/datasets/<id>/`
 * (dataset.json, data.msgpack) and one file per hyperparameter study, `<dataDir>/studies/<id>.json`.
 * - Every whole file is framed with its length and SHA-256 (checksum-frame.ts), so a torn, truncated
 *   or altered file is reported as damaged instead of being parsed. Files of the previous version
 *   (no frame) are still read; they are checked by parsing them.
 * - Whole files are written to a temporary file that is fsynced and renamed over the target (then
 *   the folder is fsynced), so a coordinator killed at any moment leaves either the old or the new
 *   file. A failed write removes its temporary file and leaves the old file in place.
 * - job.json, checkpoint.msgpack and study files keep the copy they replace as `<name>.prev`, renamed
 *   away only once the new copy is durable; a damaged or missing newest copy falls back to it.
 * - The metrics log is appended line by line, each line `<json>\t<checksum>`; a damaged line is left
 *   out, a failed append is cut off again.
 * Uses node:fs, which both Node and Deno provide.
 */
import { randomBytes } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { decode } from "../../core/wire/codec.ts";
import type { StudyRecord } from "../studies/study-record.ts";
import type { MetricsEntry } from "../training/trainer.ts";
import { frame, lineChecksum, unframe } from "./checksum-frame.ts";
import { damagedJobRecord, type DatasetRecord, type JobRecord, type JobStore, StoreError } from "./job-store.ts";

const ID = /^[A-Za-z0-9_-]{1,64}$/;
const TEMP = ".tmp-";
const PREVIOUS = ".prev";

export class FileStore implements JobStore {
  readonly #root: string;
  /** Damage already logged, so that a listing polled every second does not repeat it. */
  readonly #reported = new Set<string>();

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

  #studyFile(id: string): string {
    if (!ID.test(id)) throw new RangeError(`Cannot use study id ${JSON.stringify(id)}: ids are 1-64 characters of [A-Za-z0-9_-]`);
    return join(this.#root, "studies", `${id}.json`);
  }

  async putJob(job: JobRecord): Promise<void> {
    await this.#write(join(this.#jobDir(job.id), "job.json"), json(job), true);
  }

  async getJob(id: string): Promise<JobRecord | null> {
    if (!ID.test(id)) return null;
    const dir = this.#jobDir(id);
    try {
      return await this.#withPrevious(join(dir, "job.json"), (p) => this.#readJson<JobRecord>(p));
    } catch (error) {
      if (!(error instanceof StoreError)) throw error;
      this.#report(error.message);
      const createdAt = await stat(dir).then((s) => s.mtime.toISOString(), () => new Date(0).toISOString());
      return damagedJobRecord(id, error.message, createdAt);
    }
  }

  async listJobIds(): Promise<string[]> {
    return (await listDir(join(this.#root, "jobs"))).filter((id) => ID.test(id));
  }

  async listJobs(): Promise<JobRecord[]> {
    const ids = await listDir(join(this.#root, "jobs"));
    const jobs = await Promise.all(ids.map((id) => this.getJob(id)));
    return jobs.filter((j): j is JobRecord => j !== null).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  async appendMetrics(id: string, entries: readonly MetricsEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const dir = this.#jobDir(id);
    const path = join(dir, "metrics.ndjson");
    try {
      await mkdir(dir, { recursive: true });
      const file = await open(path, "a");
      try {
        const { size } = await file.stat();
        try {
          await file.writeFile(metricsLines(entries));
          await file.sync();
        } catch (error) {
          await file.truncate(size).catch(() => {}); // no half line for the next append to run into
          throw error;
        }
      } finally {
        await file.close();
      }
    } catch (error) {
      throw this.#writeError(path, error);
    }
  }

  async readMetrics(id: string): Promise<MetricsEntry[]> {
    if (!ID.test(id)) return [];
    const path = join(this.#jobDir(id), "metrics.ndjson");
    const bytes = await this.#readFile(path);
    if (!bytes) return [];
    const lines = new TextDecoder().decode(bytes).split("\n");
    const out: MetricsEntry[] = [];
    let damaged = 0;
    lines.forEach((line, i) => {
      if (!line) return;
      const entry = parseMetricsLine(line);
      if (entry) out.push(entry);
      else if (i < lines.length - 1) damaged++; // not the last line, torn by a crash mid-append
    });
    if (damaged) this.#report(`${this.#relative(path)} is damaged: ${damaged} line(s) fail their checksum and are left out`);
    return out;
  }

  async writeMetrics(id: string, entries: readonly MetricsEntry[]): Promise<void> {
    const path = join(this.#jobDir(id), "metrics.ndjson");
    try {
      await writeAtomic(path, new TextEncoder().encode(metricsLines(entries)));
    } catch (error) {
      throw this.#writeError(path, error);
    }
  }

  async putCheckpoint(id: string, bytes: Uint8Array): Promise<void> {
    await this.#write(join(this.#jobDir(id), "checkpoint.msgpack"), bytes, true);
  }

  async getCheckpoint(id: string): Promise<Uint8Array | null> {
    return await this.#withPrevious(join(this.#jobDir(id), "checkpoint.msgpack"), (p) => this.#readMessagePack(p));
  }

  async putModel(id: string, bytes: Uint8Array): Promise<void> {
    await this.#write(join(this.#jobDir(id), "model.msgpack"), bytes, false);
  }

  async getModel(id: string): Promise<Uint8Array | null> {
    if (!ID.test(id)) return null;
    return await this.#readMessagePack(join(this.#jobDir(id), "model.msgpack"));
  }

  async putDataset(record: DatasetRecord, bytes: Uint8Array): Promise<void> {
    const dir = this.#datasetDir(record.id);
    await this.#write(join(dir, "data.msgpack"), bytes, false);
    await this.#write(join(dir, "dataset.json"), json(record), false);
  }

  async getDataset(id: string): Promise<{ record: DatasetRecord; bytes: Uint8Array } | null> {
    if (!ID.test(id)) return null;
    const dir = this.#datasetDir(id);
    const record = await this.#readJson<DatasetRecord>(join(dir, "dataset.json"));
    const bytes = record ? await this.#readMessagePack(join(dir, "data.msgpack")) : null;
    return record && bytes ? { record, bytes } : null;
  }

  async listDatasets(): Promise<DatasetRecord[]> {
    const ids = await listDir(join(this.#root, "datasets"));
    const out: DatasetRecord[] = [];
    for (const id of ids) {
      const record = ID.test(id) ? await this.#listed(() => this.#readJson<DatasetRecord>(join(this.#datasetDir(id), "dataset.json"))) : null;
      if (record) out.push(record);
    }
    return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  async putStudy(study: StudyRecord): Promise<void> {
    await this.#write(this.#studyFile(study.id), json(study), true);
  }

  async getStudy(id: string): Promise<StudyRecord | null> {
    if (!ID.test(id)) return null;
    return await this.#withPrevious(this.#studyFile(id), (p) => this.#readJson<StudyRecord>(p));
  }

  async listStudies(): Promise<StudyRecord[]> {
    const names = await listDir(join(this.#root, "studies"));
    // A study killed between its two renames has only its previous copy (`<id>.json.prev`): listed too.
    const idOf = (name: string) =>
      name.endsWith(".json") ? name.slice(0, -".json".length) : name.endsWith(`.json${PREVIOUS}`) ? name.slice(0, -`.json${PREVIOUS}`.length) : null;
    const ids = [...new Set(names.map(idOf).filter((id): id is string => id !== null))];
    const studies = await Promise.all(ids.map((id) => this.#listed(() => this.getStudy(id))));
    return studies.filter((s): s is StudyRecord => s !== null).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  /**
   * Removes the temporary files a killed coordinator left behind (they are never read). Only the
   * holder of the data directory's lock may call it: another process's write in flight would go too.
   * Returns how many were removed.
   */
  async removeLeftovers(): Promise<number> {
    const folders = [join(this.#root, "studies")];
    for (const kind of ["jobs", "datasets"]) {
      for (const id of await listDir(join(this.#root, kind))) folders.push(join(this.#root, kind, id));
    }
    let removed = 0;
    for (const folder of folders) {
      for (const name of await listDir(folder).catch(() => [])) {
        if (!name.includes(TEMP)) continue;
        await rm(join(folder, name), { force: true });
        removed++;
      }
    }
    return removed;
  }

  async #write(path: string, payload: Uint8Array, keepPrevious: boolean): Promise<void> {
    try {
      await writeAtomic(path, frame(payload), { keepPrevious });
    } catch (error) {
      throw this.#writeError(path, error);
    }
  }

  #writeError(path: string, error: unknown): StoreError {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === "ENOSPC" ? "the disk is full (ENOSPC)" : code === "EDQUOT" ? "the disk quota is used up (EDQUOT)" : (error as Error).message;
    return new StoreError("write", `Cannot write ${this.#relative(path)} in the data directory: ${reason}`, { cause: error });
  }

  /** `read(path)`, or `read(path.prev)` when the newest copy is missing (killed between renames) or damaged. */
  async #withPrevious<T>(path: string, read: (path: string) => Promise<T | null>): Promise<T | null> {
    let damage: StoreError;
    try {
      const newest = await read(path);
      if (newest !== null) return newest;
      return await read(path + PREVIOUS).catch(() => null);
    } catch (error) {
      if (!(error instanceof StoreError)) throw error;
      damage = error;
    }
    const previous = await read(path + PREVIOUS).catch(() => null);
    if (previous === null) throw damage;
    this.#report(`${damage.message}; read its previous copy (${this.#relative(path)}${PREVIOUS})`);
    return previous;
  }

  async #readJson<T>(path: string): Promise<T | null> {
    const payload = await this.#readPayload(path);
    if (!payload) return null;
    let value: unknown;
    try {
      value = JSON.parse(new TextDecoder().decode(payload.bytes));
    } catch {
      value = null;
    }
    if (typeof value !== "object" || value === null) throw this.#damaged(path, payload.legacy ? "it is not a JSON object (a file without checksum, from an earlier version)" : "it is not a JSON object");
    return value as T;
  }

  /** A file of MessagePack bytes; one without checksum must at least decode whole. */
  async #readMessagePack(path: string): Promise<Uint8Array | null> {
    const payload = await this.#readPayload(path);
    if (!payload) return null;
    if (payload.legacy) {
      try {
        decode(payload.bytes);
      } catch (error) {
        throw this.#damaged(path, `it does not decode (${(error as Error).message}; a file without checksum, from an earlier version)`);
      }
    }
    return payload.bytes;
  }

  async #readPayload(path: string): Promise<{ bytes: Uint8Array; legacy: boolean } | null> {
    const bytes = await this.#readFile(path);
    if (!bytes) return null;
    const unframed = unframe(bytes);
    if (!unframed.ok) throw this.#damaged(path, unframed.reason);
    return { bytes: unframed.payload, legacy: unframed.legacy };
  }

  async #readFile(path: string): Promise<Uint8Array | null> {
    try {
      return new Uint8Array(await readFile(path));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw this.#damaged(path, `it cannot be read (${(error as Error).message})`);
    }
  }

  #damaged(path: string, reason: string): StoreError {
    return new StoreError("damaged", `${this.#relative(path)} is damaged: ${reason}`);
  }

  /** One entry of a listing: null (logged) when it is damaged, so that one file cannot hide the rest. */
  async #listed<T>(read: () => Promise<T | null>): Promise<T | null> {
    try {
      return await read();
    } catch (error) {
      if (!(error instanceof StoreError)) throw error;
      this.#report(`${error.message}; left out of the listing`);
      return null;
    }
  }

  #report(message: string): void {
    if (this.#reported.has(message)) return;
    this.#reported.add(message);
    console.error(`coordinator: ${message}`);
  }

  #relative(path: string): string {
    return path.startsWith(this.#root + "/") ? path.slice(this.#root.length + 1) : path;
  }
}

/**
 * Writes `bytes` (or its parts, in order) to `path` atomically: temp file in the same folder, fsync,
 * rename, fsync of the folder. With `keepPrevious` the file it replaces becomes `<path>.prev` (after the new bytes are
 * durable). On failure the temp file is removed and `path` is left as it was.
 */
export async function writeAtomic(path: string, bytes: Uint8Array | readonly Uint8Array[], options: { keepPrevious?: boolean } = {}): Promise<void> {
  const dir = path.slice(0, path.lastIndexOf("/"));
  await mkdir(dir, { recursive: true });
  const temp = `${path}${TEMP}${randomBytes(6).toString("hex")}`;
  try {
    const file = await open(temp, "wx");
    try {
      for (const part of bytes instanceof Uint8Array ? [bytes] : bytes) await file.writeFile(part); // each from where the last ended
      await file.sync();
    } finally {
      await file.close();
    }
    if (options.keepPrevious) {
      await rename(path, path + PREVIOUS).catch((error) => {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      });
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true }).catch(() => {});
    throw error;
  }
  await syncFolder(dir);
}

/** Makes the renames in a folder durable; platforms that cannot open a folder skip it. */
async function syncFolder(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, "r");
  } catch (error) {
    if (["EISDIR", "EPERM", "EACCES"].includes((error as NodeJS.ErrnoException).code ?? "")) return;
    throw error;
  }
  try {
    await handle.sync();
  } catch (error) {
    if (!["EINVAL", "EBADF", "ENOTSUP"].includes((error as NodeJS.ErrnoException).code ?? "")) throw error;
  } finally {
    await handle.close();
  }
}

function json(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value, null, 1));
}

function metricsLines(entries: readonly MetricsEntry[]): string {
  return entries.map((e) => {
    const text = JSON.stringify(e);
    return `${text}\t${lineChecksum(text)}\n`;
  }).join("");
}

/** One metrics line, or null when it fails its checksum or (a line without one, from an earlier version) does not parse. */
function parseMetricsLine(line: string): MetricsEntry | null {
  const tab = line.lastIndexOf("\t");
  const text = tab < 0 ? line : line.slice(0, tab);
  if (tab >= 0 && lineChecksum(text) !== line.slice(tab + 1)) return null;
  try {
    return JSON.parse(text) as MetricsEntry;
  } catch {
    return null;
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
