/**
 * Where the coordinator keeps jobs, their metrics, checkpoints, models and uploaded datasets. One
 * interface so that a platform without a disk can plug in Deno KV or an object store; the embedded
 * default is `FileStore` (a data directory on disk).
 */
import type { Diagnosis } from "../../core/diagnosis.ts";
import type { StudyRecord } from "../studies/study-record.ts";
import type { DatasetRecord, FinalMetrics, JobStatus, MetricsEntry, StepTiming } from "../../core/job/api.ts";

export type { DatasetRecord, JobStatus };


export interface JobRecord {
  readonly id: string;
  readonly name: string;
  readonly status: JobStatus;
  /** The job spec as submitted (validated). */
  readonly spec: unknown;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly progress: { epoch: number; epochs: number; step: number; steps: number; member: number; members: number };
  readonly metrics: FinalMetrics;
  readonly diagnosis: Diagnosis | null;
  readonly error: string | null;
  readonly throughput: { examplesPerSecond: number | null };
  readonly timing: { stepMs: number | null; breakdown: StepTiming | null };
  /** Worker URLs the job used. */
  readonly workers: readonly string[];
  readonly studyId: string | null;
  /** Best dev metric seen (devError for classification, devLoss otherwise). */
  readonly bestDev: number | null;
}


export interface JobStore {
  putJob(job: JobRecord): Promise<void>;
  getJob(id: string): Promise<JobRecord | null>;
  listJobs(): Promise<JobRecord[]>;
  appendMetrics(id: string, entries: readonly MetricsEntry[]): Promise<void>;
  readMetrics(id: string): Promise<MetricsEntry[]>;
  /** Replaces the metrics log (used on resume to drop entries newer than the checkpoint). */
  writeMetrics(id: string, entries: readonly MetricsEntry[]): Promise<void>;
  putCheckpoint(id: string, bytes: Uint8Array): Promise<void>;
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
