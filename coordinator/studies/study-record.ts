/**
 * What the store keeps of a hyperparameter study: its validated spec, where the strategy stands
 * (round, the space of each round) and every trial. It is the whole state of the study, written
 * after every change, so a coordinator restarted on the same data directory goes on from it.
 */
import type { Space, Values } from "../../core/search/mod.ts";
import type { StudyStatus, TrialResult, TrialStatus } from "../../core/job/study-api.ts";
import type { StudySpec } from "./study-spec.ts";

export type { StudyStatus, TrialResult, TrialStatus };

export const FINISHED_TRIAL: ReadonlySet<TrialStatus> = new Set(["succeeded", "stopped", "failed", "cancelled"]);


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
