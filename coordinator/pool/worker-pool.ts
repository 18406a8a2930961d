/**
 * How the scheduler reaches compute, strategy separate from transport. The trainer plans a task
 * (a step's gradients or an evaluation pass, core/work.ts) and hands it whole to a pool; the pool
 * chooses workers, retries and hedges. Partial failure is data: a shard ends `{ok: false, error}`
 * rather than throwing, and the trainer decides.
 * Implementations: `InProcessPool` (core in this process: fast unit tests, the benchmark baseline)
 * and `HttpPool` (edge functions over HTTP: what users and the e2e tests run).
 */
import type { WorkerStatus } from "../../core/job/api.ts";
import type { WorkerLimits } from "../../core/limits.ts";
import type { Timing } from "../../core/wire/messages.ts";
import type { RoundShardResult } from "../../core/round.ts";
import type { EvaluateShardResult, GradientShardResult } from "../../core/shard.ts";
import type { EvaluationTask, RoundTask, StepTask } from "../../core/work.ts";

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
  readonly limits: Partial<Pick<WorkerLimits, "maxParameters" | "maxExamples" | "maxActivations" | "maxChunkGradients" | "maxBodyBytes" | "maxRoundExamples">>;
  /** Whether every healthy worker takes uint8 input codes (`inputCodes` in GET /v1/health); absent: no. */
  readonly inputCodes?: boolean;
  /** Whether every healthy worker honours `returnInnerState: false` in round requests (GET /v1/health); absent: no. */
  readonly returnInnerState?: boolean;
}

export type { WorkerStatus };

/** Where a task's time went, in milliseconds: its shards run in parallel, so each phase is the slowest shard's. */
export interface PassTiming {
  readonly encode: number;
  readonly transfer: number;
  readonly compute: number;
  readonly decode: number;
}

/**
 * What a pass cost on the coordinator's link: every send (retries and hedges included), the request
 * body bytes sent and the reply body bytes received. A pool without a link reports zeros.
 */
export interface PassTraffic {
  readonly requests: number;
  readonly bytesSent: number;
  readonly bytesReceived: number;
}

/** A task's outcomes (one per shard, in the task's order), its timing and its traffic. */
export interface PassResult<T> {
  readonly outcomes: readonly ShardOutcome<T>[];
  readonly timing: PassTiming;
  readonly traffic: PassTraffic;
}

/** How a job's requests go out (JobSpec.workers): each send's timeout, and the sends after the first a shard may cost. */
export interface RequestPolicy {
  readonly timeoutMs: number;
  readonly retries: number;
}

export interface RunOptions<T> {
  readonly signal: AbortSignal;
  /** Called with each shard's outcome as it settles, in arrival order (the trainer reduces as replies come in). */
  readonly onOutcome?: (index: number, outcome: ShardOutcome<T>) => void;
}

/** The timing of a pass from its outcomes' timings. */
export function passTiming(outcomes: readonly ShardOutcome<unknown>[]): PassTiming {
  const out = { encode: 0, transfer: 0, compute: 0, decode: 0 };
  for (const o of outcomes) {
    if (!o.ok || !o.timing) continue;
    out.encode = Math.max(out.encode, o.timing.encode);
    out.transfer = Math.max(out.transfer, o.timing.transfer);
    out.compute = Math.max(out.compute, o.timing.compute);
    out.decode = Math.max(out.decode, o.timing.decode);
  }
  return out;
}

/**
 * A pool of compute for the trainer. The arrays of a successful outcome's value belong to the
 * caller, which may overwrite them (the trainer sums gradients in place): a pool must not keep,
 * share or reuse them.
 */
export interface WorkerPool {
  capacity(): PoolCapacity;
  /** A step's gradients, every shard run (retried, hedged) until it succeeds or fails for good. */
  runStep(task: StepTask, options: RunOptions<GradientShardResult>): Promise<PassResult<GradientShardResult>>;
  /** An evaluation pass, as runStep. */
  runEvaluation(task: EvaluationTask, options: RunOptions<EvaluateShardResult>): Promise<PassResult<EvaluateShardResult>>;
  /** A segment of a local-step round, one shard per replica, as runStep. */
  runRound(task: RoundTask, options: RunOptions<RoundShardResult>): Promise<PassResult<RoundShardResult>>;
  status(): readonly WorkerStatus[];
  /**
   * This pool for one job: the same workers (health, slots) with the job's own request policy, so
   * jobs on the same workers share their capacity but not their timeouts and retries.
   */
  forJob(policy: RequestPolicy): WorkerPool;
}
