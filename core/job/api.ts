/**
 * The shapes the coordinator's HTTP API returns and its store keeps (DESIGN.md, "Coordinator HTTP
 * API"): one definition for the coordinator, the SDK and the dashboard. Plain JSON data.
 */

export type JobStatus = "queued" | "running" | "succeeded" | "failed" | "cancelled";

/** Where a job is: 0-based epoch and member, 1-based step within the epoch. */
export interface Progress {
  readonly epoch: number;
  readonly epochs: number;
  readonly step: number;
  readonly steps: number;
  readonly member: number;
  readonly members: number;
  /** Local mode: the member's rounds done and in all (epochs × rounds per epoch); absent in sync mode. */
  readonly rounds?: RoundsProgress;
}

export interface RoundsProgress {
  readonly done: number;
  readonly total: number;
}

/** Train/dev/test loss and error (fractions in [0, 1]) of a job; null until known. */
export interface FinalMetrics {
  readonly trainLoss: number | null;
  readonly trainError: number | null;
  readonly devLoss: number | null;
  readonly devError: number | null;
  readonly testLoss: number | null;
  readonly testError: number | null;
}

/**
 * How early stopping ended a job (epochs 1-based, as people read them): the epoch after which it
 * stopped, the epoch of the best dev value, and whether the weights of that epoch were restored.
 * A job record's `earlyStopping` is null when the job did not stop early (or has not ended).
 */
export interface EarlyStoppingOutcome {
  readonly stoppedAtEpoch: number;
  readonly bestEpoch: number;
  readonly restored: boolean;
}

/** Where a training step's time went, in milliseconds (medians over an epoch in a job record). */
export interface StepTiming {
  plan: number;
  encode: number;
  transfer: number;
  compute: number;
  decode: number;
  reduce: number;
  optimizer: number;
}

export interface StepMetrics {
  readonly kind: "step";
  readonly member: number;
  readonly epoch: number;
  /** Steps taken by this member, 1-based. */
  readonly step: number;
  /** Mean loss of the batch (without the regularization penalty). */
  readonly loss: number;
  /** Exponentially weighted average of `loss` (β = 0.9, bias-corrected). */
  readonly smoothedLoss: number;
  readonly learningRate: number;
  /** True when the update was skipped for non-finite gradients. */
  readonly skipped: boolean;
  readonly timing: StepTiming;
}

export interface EpochMetrics {
  readonly kind: "epoch";
  readonly member: number;
  readonly epoch: number;
  readonly step: number;
  /** Mean training loss over the epoch's steps (training mode). */
  readonly trainLoss: number;
  /** Error on the training split in inference mode; null for a linear output. */
  readonly trainError: number | null;
  readonly devLoss: number | null;
  readonly devError: number | null;
  readonly learningRate: number;
  /** Training examples per second over the epoch, evaluation excluded. */
  readonly examplesPerSecond: number;
  readonly stepMs: number;
  readonly breakdown: StepTiming;
}

export type MetricsEntry = StepMetrics | EpochMetrics;

/**
 * What a job's training cost on the coordinator's link to its workers, cumulative over the job's
 * life (DESIGN.md, `communication`): requests sent (retries and hedges included), request body
 * bytes sent, reply body bytes received, and (sent + received) ÷ training examples (null before the first).
 */
export interface JobCommunication {
  readonly requests: number;
  readonly bytesSent: number;
  readonly bytesReceived: number;
  readonly bytesPerExample: number | null;
}

/** A worker of the pool as `GET /v1/workers` reports it. */
export interface WorkerStatus {
  readonly url: string;
  readonly runtime: string | null;
  readonly backend: string | null;
  readonly healthy: boolean;
  /** Median round trip of recent requests, ms. */
  readonly latencyMs: number | null;
  readonly failures: number;
  readonly inFlight: number;
  /** Requests re-sent to another worker because this one was slow. */
  readonly hedged: number;
  /** Why the worker is unhealthy (e.g. "wrong secret: ...", a failed health check); null while healthy. */
  readonly error: string | null;
}

/** A dataset as `GET /v1/datasets` describes it. */
export interface DatasetRecord {
  readonly id: string;
  readonly name: string;
  readonly rows: number;
  readonly features: number;
  /** Number of classes; null for regression targets. */
  readonly classes: number | null;
  readonly classNames: readonly string[] | null;
  readonly createdAt: string;
  readonly builtin: boolean;
  readonly description?: string;
}
