/**
 * A pool that computes shards with core in this process. It shares the shard code path with the
 * workers (core/shard.ts), so a job gives the same bits here as on edge functions with the same
 * backend; unit tests and the benchmark baseline use it.
 */
import { computeGradientShard, evaluateShard, type EvaluateTask, type GradientTask } from "../../core/shard.ts";
import type { PoolCapacity, ShardOutcome, WorkerPool, WorkerStatus } from "./worker-pool.ts";

export class InProcessPool implements WorkerPool {
  readonly #workers: number;

  /** `workers` is how many shards a step is cut into (they run one after another here). */
  constructor(options: { workers?: number } = {}) {
    this.#workers = options.workers ?? 1;
  }

  capacity(): PoolCapacity {
    return { workers: this.#workers, limits: {} };
  }

  async gradients(task: GradientTask, signal: AbortSignal) {
    signal.throwIfAborted();
    return this.#settle(() => computeGradientShard(task));
  }

  async evaluate(task: EvaluateTask, signal: AbortSignal) {
    signal.throwIfAborted();
    return this.#settle(() => evaluateShard(task));
  }

  status(): readonly WorkerStatus[] {
    return [{ url: "in-process", runtime: "in-process", backend: null, healthy: true, latencyMs: null, failures: 0, inFlight: 0, hedged: 0 }];
  }

  async #settle<T>(run: () => Promise<T>): Promise<ShardOutcome<T>> {
    try {
      const t0 = performance.now();
      const value = await run();
      return { ok: true, value, worker: "in-process", timing: { encode: 0, transfer: 0, compute: performance.now() - t0, decode: 0 } };
    } catch (error) {
      // Errors from core are validation errors: the request is wrong, retrying cannot help.
      return { ok: false, error: { code: "bad_request", message: (error as Error).message, retriable: false } };
    }
  }
}
