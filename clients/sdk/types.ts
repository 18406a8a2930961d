/**
 * The shapes of the coordinator's HTTP API (DESIGN.md, "Coordinator HTTP API") as clients see
 * them. Plain JSON: no class instances, so they are the same in Node, Deno and browsers.
 */
export type JobStatus = "queued" | "running" | "succeeded" | "failed" | "cancelled";

export interface Progress {
  readonly epoch: number;
  readonly epochs: number;
  readonly step: number;
  readonly steps: number;
  readonly member: number;
  readonly members: number;
}

export interface JobMetrics {
  readonly trainLoss: number | null;
  readonly trainError: number | null;
  readonly devLoss: number | null;
  readonly devError: number | null;
  readonly testLoss: number | null;
  readonly testError: number | null;
}

export interface Diagnosis {
  readonly verdict: "high bias" | "high variance" | "high bias and high variance" | "good fit";
  readonly avoidableBias: number;
  readonly variance: number;
  readonly recommendations: readonly string[];
}

export interface StepTiming {
  readonly plan: number;
  readonly encode: number;
  readonly transfer: number;
  readonly compute: number;
  readonly decode: number;
  readonly reduce: number;
  readonly optimizer: number;
}

export interface Job {
  readonly id: string;
  readonly name: string;
  readonly status: JobStatus;
  readonly spec: Record<string, unknown>;
  readonly progress: Progress;
  readonly metrics: JobMetrics;
  readonly diagnosis: Diagnosis | null;
  readonly error: string | null;
  readonly throughput: { readonly examplesPerSecond: number | null };
  readonly timing: { readonly stepMs: number | null; readonly breakdown: StepTiming | null };
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
  readonly bestDev: number | null;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly workers: readonly string[];
  readonly studyId: string | null;
}

export interface StepMetrics {
  readonly kind: "step";
  readonly member: number;
  readonly epoch: number;
  readonly step: number;
  readonly loss: number;
  readonly smoothedLoss: number;
  readonly learningRate: number;
  readonly skipped: boolean;
  readonly timing: StepTiming;
}

export interface EpochMetrics {
  readonly kind: "epoch";
  readonly member: number;
  readonly epoch: number;
  readonly step: number;
  readonly trainLoss: number;
  readonly trainError: number | null;
  readonly devLoss: number | null;
  readonly devError: number | null;
  readonly learningRate: number;
  readonly examplesPerSecond: number;
  readonly stepMs: number;
  readonly breakdown: StepTiming;
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
}

/** Events of `GET /v1/jobs/:id/events`, by type. */
export type JobEvent =
  | { readonly type: "progress"; readonly id: number | null; readonly data: Progress }
  | { readonly type: "metrics"; readonly id: number | null; readonly data: StepMetrics }
  | { readonly type: "epoch"; readonly id: number | null; readonly data: EpochMetrics }
  | { readonly type: "checkpoint"; readonly id: number | null; readonly data: { readonly member: number; readonly epoch: number; readonly step: number } }
  | { readonly type: "done" | "failed" | "cancelled"; readonly id: number | null; readonly data: FinalState };

export interface Dataset {
  readonly id: string;
  readonly name: string;
  readonly rows: number;
  readonly features: number;
  readonly classes: number | null;
  readonly classNames: readonly string[] | null;
  readonly createdAt: string;
  readonly builtin: boolean;
  readonly description?: string;
}

export interface WorkerStatus {
  readonly url: string;
  readonly runtime: string | null;
  readonly backend: string | null;
  readonly healthy: boolean;
  readonly latencyMs: number | null;
  readonly failures: number;
  readonly inFlight: number;
  readonly hedged: number;
}

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
