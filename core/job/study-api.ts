/**
 * The shapes of the hyperparameter-study API (`/v1/studies`, DESIGN.md "Study spec") that the
 * coordinator answers and the clients read: one definition for both. The views are generic over
 * the types of the specs they carry: the coordinator fills in its parsed JobSpec, StudySpec and
 * Space; clients see them as plain JSON records (the defaults).
 */

export type StudyStatus = "running" | "succeeded" | "failed" | "cancelled";

/**
 * - `pending`: decided but not started (no job yet, or a successive-halving promotion whose job
 *   has not been extended yet);
 * - `running`: its job is queued or running;
 * - `succeeded`: its job finished and the metric is known;
 * - `stopped`: successive halving did not promote it (its job succeeded on a smaller budget);
 * - `failed`, `cancelled`: its job did (a diverged learning rate fails its trial, not the study).
 */
export type TrialStatus = "pending" | "running" | "succeeded" | "stopped" | "failed" | "cancelled";

/** Metrics a study can minimize: the final model's, from its job record. */
export type StudyMetric = "devError" | "devLoss" | "trainError" | "trainLoss";

/** The axis a dimension is plotted on: log for logUniform (and int with log), oneMinusLog for β-like values. */
export type AxisScale = "linear" | "log" | "oneMinusLog" | "categorical";

/** Every combination of `points` values per numeric dimension (all values of a choice). */
export interface GridStrategy {
  readonly type: "grid";
  readonly points: number;
  readonly concurrency: number;
}

/** `trials` independent samples. */
export interface RandomStrategy {
  readonly type: "random";
  readonly trials: number;
  readonly concurrency: number;
}

/** `rounds` rounds of `trialsPerRound` samples, each round's space zoomed around the best `keep` so far. */
export interface CoarseToFineStrategy {
  readonly type: "coarseToFine";
  readonly rounds: number;
  readonly trialsPerRound: number;
  readonly keep: number;
  readonly concurrency: number;
}

/**
 * `trials` samples trained for `minEpochs`; after each rung the best 1/eta go on with eta times the
 * epochs, up to the base spec's `epochs`; the rest stop.
 */
export interface SuccessiveHalvingStrategy {
  readonly type: "successiveHalving";
  readonly trials: number;
  readonly minEpochs: number;
  readonly eta: number;
  readonly concurrency: number;
}

export type StrategySpec = GridStrategy | RandomStrategy | CoarseToFineStrategy | SuccessiveHalvingStrategy;

/** The metric of a trial after one budget (one entry per successive-halving rung, one otherwise). */
export interface TrialResult {
  readonly round: number;
  readonly epochs: number;
  readonly metric: number | null;
}

/** Sampled values of a trial: spec path → value. */
export type TrialValues = Readonly<Record<string, unknown>>;

export interface TrialView {
  readonly id: string;
  readonly index: number;
  /** Coarse-to-fine round, or successive-halving rung reached. */
  readonly round: number;
  readonly jobId: string | null;
  readonly values: TrialValues;
  readonly status: TrialStatus;
  /** Epochs completed (live for a running trial). */
  readonly epochs: number;
  /** Epochs its job is to train in all. */
  readonly budget: number;
  readonly metric: number | null;
  readonly error: string | null;
  readonly history: readonly TrialResult[];
  /** The job's progress while it runs, else null. */
  readonly progress: { readonly epoch: number; readonly epochs: number; readonly step: number; readonly steps: number } | null;
}

export interface DimensionView {
  readonly type: "uniform" | "logUniform" | "oneMinusLog" | "int" | "choice";
  readonly scale: AxisScale;
  readonly min?: number;
  readonly max?: number;
  readonly values?: readonly unknown[];
  /** One point per trial with a metric. */
  readonly points: readonly { readonly trialId: string; readonly value: unknown; readonly metric: number; readonly epochs: number }[];
}

export interface BestView<TJobSpec = Record<string, unknown>> {
  readonly trialId: string;
  readonly jobId: string | null;
  readonly values: TrialValues;
  readonly metric: number;
  readonly epochs: number;
  /** The job spec that reproduces the best trial (successive halving: the rung's epochs): submit it as a job. */
  readonly spec: TJobSpec;
}

export type StudyCounts = Readonly<Record<TrialStatus, number>> & { readonly total: number };

export interface StudyView<TJobSpec = Record<string, unknown>, TStudySpec = Record<string, unknown>, TSpace = Record<string, unknown>> {
  readonly id: string;
  readonly name: string;
  readonly status: StudyStatus;
  readonly error: string | null;
  readonly createdAt: string;
  readonly finishedAt: string | null;
  readonly metric: StudyMetric;
  readonly strategy: StrategySpec;
  readonly spec: TStudySpec;
  readonly round: number;
  readonly spaces: readonly TSpace[];
  readonly counts: StudyCounts;
  /** Epochs trained by all the study's jobs so far: its cost. */
  readonly epochs: number;
  readonly trials: readonly TrialView[];
  readonly best: BestView<TJobSpec> | null;
  readonly dimensions: Readonly<Record<string, DimensionView>>;
}

export interface StudySummary {
  readonly id: string;
  readonly name: string;
  readonly status: StudyStatus;
  readonly strategy: StrategySpec["type"];
  readonly metric: StudyMetric;
  readonly counts: StudyCounts;
  readonly best: { readonly trialId: string; readonly metric: number; readonly values: TrialValues } | null;
  readonly createdAt: string;
  readonly finishedAt: string | null;
}
