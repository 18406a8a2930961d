/**
 * The shapes of the coordinator's HTTP API (DESIGN.md, "Coordinator HTTP API") as clients see
 * them. Plain JSON: no class instances, so they are the same in Node, Deno and browsers. The
 * shapes the coordinator also keeps are defined once in core/job/api.ts.
 */
import type { Diagnosis } from "../../core/diagnosis.ts";
import type { DatasetRecord, EarlyStoppingOutcome, EpochMetrics, FinalMetrics, JobCommunication, JobStatus, Progress, RoundsProgress, StepMetrics, StepTiming } from "../../core/job/api.ts";

export type { Diagnosis, EarlyStoppingOutcome, EpochMetrics, JobCommunication, JobStatus, Progress, RoundsProgress, StepMetrics, StepTiming };
export type { WorkerStatus } from "../../core/job/api.ts";
export type JobMetrics = FinalMetrics;
export type Dataset = DatasetRecord;

export interface Job {
  readonly id: string;
  readonly name: string;
  readonly status: JobStatus;
  readonly spec: Record<string, unknown>;
  readonly progress: Progress;
  /** Epochs done (of the current ensemble member), 1-based as people count: 8 for a finished 8-epoch job. */
  readonly epochsDone: number;
  readonly metrics: JobMetrics;
  readonly diagnosis: Diagnosis | null;
  /** How early stopping ended the job (epochs 1-based); null when it did not stop early. */
  readonly earlyStopping: EarlyStoppingOutcome | null;
  readonly error: string | null;
  readonly throughput: { readonly examplesPerSecond: number | null };
  readonly timing: { readonly stepMs: number | null; readonly breakdown: StepTiming | null };
  /** The training's traffic to its workers, cumulative; null for a job recorded before it was counted. */
  readonly communication: JobCommunication | null;
  readonly workers: readonly string[];
  readonly studyId: string | null;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
}

export interface JobSummary {
  readonly id: string;
  readonly name: string;
  readonly status: JobStatus;
  readonly progress: Progress;
  /** Epochs done (of the current ensemble member): 8 for a finished 8-epoch job. */
  readonly epochsDone: number;
  readonly bestDev: number | null;
  /** What `bestDev` measures: the dev error (a fraction) of a classifier, the dev loss of a regression. */
  readonly bestDevMetric: "devError" | "devLoss";
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly workers: readonly string[];
  readonly studyId: string | null;
}



/**
 * One page of a listing (`GET /v1/jobs?limit=&cursor=`, datasets, studies), newest first: pass
 * `nextCursor` back as `cursor` for the next page; null on the last.
 */
export interface Page<T> {
  readonly items: readonly T[];
  readonly nextCursor: string | null;
}

export interface PageOptions {
  /** Items per page, 1 to 1000 (default 100). */
  readonly limit?: number;
  /** The `nextCursor` of the previous page; absent or null for the first. */
  readonly cursor?: string | null;
}

export interface MetricsHistory {
  readonly steps: readonly StepMetrics[];
  readonly epochs: readonly EpochMetrics[];
}

export interface FinalState {
  readonly status: JobStatus;
  readonly metrics?: JobMetrics;
  readonly diagnosis?: Diagnosis | null;
  readonly error?: string | null;
  /** On `done`: how early stopping ended the job; null when it did not stop early. */
  readonly earlyStopping?: EarlyStoppingOutcome | null;
}

/** A `progress` event: where the job is, and its traffic so far (absent from coordinators that did not count it). */
export type ProgressEvent = Progress & { readonly communication?: JobCommunication };

/** Events of `GET /v1/jobs/:id/events`, by type. */
export type JobEvent =
  | { readonly type: "progress"; readonly id: number | null; readonly data: ProgressEvent }
  | { readonly type: "metrics"; readonly id: number | null; readonly data: StepMetrics }
  | { readonly type: "epoch"; readonly id: number | null; readonly data: EpochMetrics }
  | { readonly type: "checkpoint"; readonly id: number | null; readonly data: { readonly member: number; readonly epoch: number; readonly step: number } }
  | { readonly type: "done" | "failed" | "cancelled"; readonly id: number | null; readonly data: FinalState };



export interface Prediction {
  readonly outputs: number[][];
  readonly classes: (string | null)[];
}

export interface ModelJson {
  readonly spec: Record<string, unknown>;
  readonly parameters: Record<string, { readonly shape: number[]; readonly data: number[] }>;
  readonly batchNorm: Record<string, { readonly shape: number[]; readonly data: number[] }>;
  readonly normalization: Record<string, unknown> | null;
  readonly classNames: readonly string[] | null;
  readonly members: readonly { readonly parameters: ModelJson["parameters"]; readonly batchNorm: ModelJson["batchNorm"] }[];
}
