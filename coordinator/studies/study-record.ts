/**
 * What the store keeps of a hyperparameter study: its validated spec, where the strategy stands
 * (round, the space of each round) and every trial. It is the whole state of the study, written
 * after every change, so a coordinator restarted on the same data directory goes on from it.
 */
import type { Space, Values } from "../../core/search/mod.ts";
import type { StudySpec } from "./study-spec.ts";

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

export const FINISHED_TRIAL: ReadonlySet<TrialStatus> = new Set(["succeeded", "stopped", "failed", "cancelled"]);

/** The metric of a trial after one budget (one entry per successive-halving rung, one otherwise). */
export interface TrialResult {
  readonly round: number;
  readonly epochs: number;
  readonly metric: number | null;
}

export interface TrialRecord {
  /** `t<index>`; also the end of its job's name, `<study name>/<trial id>`. */
  readonly id: string;
  readonly index: number;
  /** The coarse-to-fine round that sampled it, or the successive-halving rung it reached; else 0. */
  readonly round: number;
  /** Path → sampled value. */
  readonly values: Values;
  /** Epochs its job is to train in all (its spec's `epochs`). */
  readonly budget: number;
  readonly jobId: string | null;
  readonly status: TrialStatus;
  /** Epochs its job has completed. */
  readonly epochs: number;
  /** The study's metric of its job's final model at the latest budget; null until known or on failure. */
  readonly metric: number | null;
  readonly error: string | null;
  readonly history: readonly TrialResult[];
}

export interface StudyRecord {
  readonly id: string;
  readonly name: string;
  readonly status: StudyStatus;
  readonly spec: StudySpec;
  readonly createdAt: string;
  readonly finishedAt: string | null;
  readonly error: string | null;
  /** The current coarse-to-fine round or successive-halving rung (0 for grid and random). */
  readonly round: number;
  /** The space each round sampled: coarse-to-fine zooms it; one entry for the other strategies. */
  readonly spaces: readonly Space[];
  readonly trials: readonly TrialRecord[];
}
