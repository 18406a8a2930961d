/**
 * A pool that computes shards with core in this process. It shares the shard code path with the
 * workers (core/shard.ts) and builds the same requests (core/work.ts), so a job gives the same bits
 * here as on edge functions with the same backend; unit tests and the benchmark baseline use it.
 */
import { computeRoundShard, type RoundShardResult } from "../../core/round.ts";
import { computeGradientShard, type EvaluateShardResult, evaluateShard, type GradientShardResult } from "../../core/shard.ts";
import { evaluateRequest, type EvaluationTask, gradientsRequest, type RoundTask, roundRequest, type StepTask } from "../../core/work.ts";
import { type PassResult, passTiming, type PoolCapacity, type RunOptions, type ShardOutcome, type WorkerPool, type WorkerStatus } from "./worker-pool.ts";

export class InProcessPool implements WorkerPool {
  readonly #workers: number;

  /** `workers` is how many shards a step is cut into (they run one after another here). */
  constructor(options: { workers?: number } = {}) {
    this.#workers = options.workers ?? 1;
  }

  capacity(): PoolCapacity {
    return { workers: this.#workers, limits: {}, inputCodes: true, returnInnerState: true };
  }

  runStep(task: StepTask, options: RunOptions<GradientShardResult>) {
    return this.#run(task.shards.map((shard) => () => computeGradientShard(gradientsRequest(task.context, shard))), options);
  }

  runEvaluation(task: EvaluationTask, options: RunOptions<EvaluateShardResult>) {
    return this.#run(task.shards.map((shard) => () => evaluateShard(evaluateRequest(task.context, shard))), options);
  }

  runRound(task: RoundTask, options: RunOptions<RoundShardResult>) {
    return this.#run(task.shards.map((shard) => () => computeRoundShard(roundRequest(task.context, shard))), options);
  }

  status(): readonly WorkerStatus[] {
    return [{ url: "in-process", runtime: "in-process", backend: null, healthy: true, latencyMs: null, failures: 0, inFlight: 0, hedged: 0, error: null }];
  }

  /** Itself: nothing here times out or is retried. */
  forJob(): WorkerPool {
    return this;
  }

  async #run<T>(shards: readonly (() => Promise<T>)[], options: RunOptions<T>): Promise<PassResult<T>> {
    const outcomes: ShardOutcome<T>[] = [];
    for (const [index, run] of shards.entries()) {
      options.signal.throwIfAborted();
      const outcome = await settle(run);
      options.onOutcome?.(index, outcome);
      outcomes.push(outcome);
    }
    // Nothing crosses a link: no requests, no bytes (what they would have been is never encoded).
    return { outcomes, timing: passTiming(outcomes), traffic: { requests: 0, bytesSent: 0, bytesReceived: 0 } };
  }
}

async function settle<T>(run: () => Promise<T>): Promise<ShardOutcome<T>> {
  try {
    const t0 = performance.now();
    const value = await run();
    return { ok: true, value, worker: "in-process", timing: { encode: 0, transfer: 0, compute: performance.now() - t0, decode: 0 } };
  } catch (error) {
    // Errors from core are validation errors: the request is wrong, retrying cannot help.
    return { ok: false, error: { code: "bad_request", message: (error as Error).message, retriable: false } };
  }
}
