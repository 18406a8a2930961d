/**
 * Where the coordinator keeps jobs, their metrics, checkpoints, models and uploaded datasets. One
 * interface so that a platform without a disk can plug in Deno KV or an object store; the embedded
 * default is `FileStore` (a data directory on disk).
 */
import type { Diagnosis } from "../../core/diagnosis.ts";
import type { JobSpec } from "../../core/job/spec.ts";
import type { StudyRecord } from "../studies/study-record.ts";
import type { DatasetRecord, EarlyStoppingOutcome, FinalMetrics, JobCommunication, JobStatus, MetricsEntry, StepTiming } from "../../core/job/api.ts";

export type { DatasetRecord, JobStatus };


export interface JobRecord {
  readonly id: string;
  readonly name: string;
  readonly status: JobStatus;
  /**
   * The job spec as accepted (parsed and validated, defaults filled in). A store returns what it
   * read; the coordinator parses it again before it runs a stored job.
   */
  readonly spec: JobSpec;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly progress: { epoch: number; epochs: number; step: number; steps: number; member: number; members: number };
  readonly metrics: FinalMetrics;
  readonly diagnosis: Diagnosis | null;
  readonly error: string | null;
  readonly throughput: { examplesPerSecond: number | null };
  readonly timing: { stepMs: number | null; breakdown: StepTiming | null };
  /** The training's traffic to its workers; absent in records written before it was counted. */
  readonly communication?: JobCommunication;
  /** Worker URLs the job used. */
  readonly workers: readonly string[];
  readonly studyId: string | null;
  /** Best dev metric seen (devError for classification, devLoss otherwise). */
  readonly bestDev: number | null;
  /** How early stopping ended the job; null (or absent, in records of older versions) when it did not stop early. */
  readonly earlyStopping?: EarlyStoppingOutcome | null;
}


/**
 * What a store could not do: `damaged`, a stored file that fails its checksum (or, for a file of the
 * previous version without one, does not parse); `write`, a write that failed (a full disk, an I/O
 * error). The message names the file, relative to the data directory.
 */
export class StoreError extends Error {
  override name = "StoreError";
  constructor(readonly kind: "damaged" | "write", message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * The record shown for a job whose job.json is damaged beyond its previous copy: failed, with the
 * reason, so that the job is listed and explains itself while every other job goes on.
 */
export function damagedJobRecord(id: string, message: string, createdAt: string): JobRecord {
  return {
    // The spec could not be read: an empty object, so that clients reading fields of it do not
    // trip; code that reads a record's spec must allow for it (only failed records have one).
    id, name: id, status: "failed", spec: {} as JobSpec, createdAt, startedAt: null, finishedAt: null,
    progress: { epoch: 0, epochs: 0, step: 0, steps: 0, member: 0, members: 0 },
    metrics: { trainLoss: null, trainError: null, devLoss: null, devError: null, testLoss: null, testError: null },
    diagnosis: null, error: message, throughput: { examplesPerSecond: null }, timing: { stepMs: null, breakdown: null },
    workers: [], studyId: null, bestDev: null,
  };
}

/**
 * Reads throw StoreError `damaged` for a file that fails its check (`getJob` instead returns
 * `damagedJobRecord`, and the listings leave out what they cannot read); writes throw StoreError
 * `write` and leave the previous file in place.
 */
export interface JobStore {
  putJob(job: JobRecord): Promise<void>;
  getJob(id: string): Promise<JobRecord | null>;
  listJobs(): Promise<JobRecord[]>;
  /** The ids of every stored job, in no particular order, without reading the records (paged listings). */
  listJobIds(): Promise<string[]>;
  appendMetrics(id: string, entries: readonly MetricsEntry[]): Promise<void>;
  readMetrics(id: string): Promise<MetricsEntry[]>;
  /** Replaces the metrics log (used on resume to drop entries newer than the checkpoint). */
  writeMetrics(id: string, entries: readonly MetricsEntry[]): Promise<void>;
  /** Keeps the checkpoint it replaces until the new one is durable (`getCheckpoint` falls back to it). */
  putCheckpoint(id: string, bytes: Uint8Array): Promise<void>;
  /** The newest whole checkpoint: the previous one when the newest is damaged or missing. */
  getCheckpoint(id: string): Promise<Uint8Array | null>;
  putModel(id: string, bytes: Uint8Array): Promise<void>;
  getModel(id: string): Promise<Uint8Array | null>;
  putDataset(record: DatasetRecord, bytes: Uint8Array): Promise<void>;
  getDataset(id: string): Promise<{ record: DatasetRecord; bytes: Uint8Array } | null>;
  listDatasets(): Promise<DatasetRecord[]>;
  /** Hyperparameter studies (coordinator/studies/): the whole state, so a restarted coordinator can go on. */
  putStudy(study: StudyRecord): Promise<void>;
  getStudy(id: string): Promise<StudyRecord | null>;
  /** Every study, oldest first. */
  listStudies(): Promise<StudyRecord[]>;
}
