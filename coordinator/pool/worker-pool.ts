/**
 * How the scheduler reaches compute (STYLE.md: strategy separate from transport). The trainer
 * plans shards and hands them to a pool; the pool chooses workers, retries and hedges. Partial
 * failure is data: a shard ends `{ok: false, error}` rather than throwing, and the trainer decides.
 * Implementations: `InProcessPool` (core in this process: fast unit tests, the benchmark baseline)
 * and `HttpPool` (edge functions over HTTP: what users and the e2e tests run).
 */
import type { WorkerStatus } from "../../core/job/api.ts";
import type { WorkerLimits } from "../../core/limits.ts";
import type { Timing } from "../../core/wire/messages.ts";
import type { EvaluateShardResult, EvaluateTask, GradientShardResult, GradientTask } from "../../core/shard.ts";

export interface ShardError {
  readonly code: string;
  readonly message: string;
  /** False for a 4xx from a worker: the request itself is wrong and retrying cannot help. */
  readonly retriable: boolean;
}

/** Where a shard's time went, in milliseconds, as seen by the coordinator. */
export interface ShardTiming {
  readonly encode: number;
  readonly transfer: number;
  readonly compute: number;
  readonly decode: number;
  /** The worker's own account of its part (read, verify, decode, queue, compute, encode), when remote. */
  readonly worker?: Timing;
}

export type ShardOutcome<T> =
  | { readonly ok: true; readonly value: T; readonly worker: string; readonly timing?: ShardTiming }
  | { readonly ok: false; readonly error: ShardError };

/** What a pool tells the shard planner about its capacity. */
export interface PoolCapacity {
  /** Workers that can take shards now. */
  readonly workers: number;
  /** The smallest of each limit the healthy workers advertise (absent: no limit). */
  readonly limits: Partial<Pick<WorkerLimits, "maxParameters" | "maxExamples" | "maxActivations" | "maxChunkGradients" | "maxBodyBytes">>;
}

export type { WorkerStatus };

/**
 * A pool of compute for the trainer. The arrays of a successful outcome's value belong to the
 * caller, which may overwrite them (the trainer sums gradients in place): a pool must not keep,
 * share or reuse them.
 */
export interface WorkerPool {
  capacity(): PoolCapacity;
  gradients(task: GradientTask, signal: AbortSignal): Promise<ShardOutcome<GradientShardResult>>;
  evaluate(task: EvaluateTask, signal: AbortSignal): Promise<ShardOutcome<EvaluateShardResult>>;
  status(): readonly WorkerStatus[];
}
