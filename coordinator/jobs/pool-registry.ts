/**
 * The coordinator's worker pools: one per set of worker URLs, shared by every job on those workers
 * (health, slots and their queue), and seen by each job through its own request policy
 * (`workers.timeoutMs`, `workers.retries`).
 */
import type { JobSpec } from "../../core/job/spec.ts";
import { HttpPool } from "../pool/http-pool.ts";
import type { WorkerPool, WorkerStatus } from "../pool/worker-pool.ts";

export interface PoolRegistryOptions {
  /** Workers for jobs whose spec names none. */
  readonly defaultWorkers: readonly string[];
  readonly workerSecret?: string;
  /** Builds the shared pool of a worker list (default: a started HttpPool); tests pass an in-process one. */
  readonly createPool?: (urls: readonly string[]) => Promise<WorkerPool>;
}

export class PoolRegistry {
  readonly #options: PoolRegistryOptions;
  readonly #pools = new Map<string, Promise<WorkerPool>>();

  constructor(options: PoolRegistryOptions) {
    this.#options = options;
  }

  get defaultWorkers(): readonly string[] {
    return this.#options.defaultWorkers;
  }

  /** The workers a job runs on: its spec's, or the coordinator's current defaults when it names none. */
  workersOf(spec: JobSpec): readonly string[] {
    return spec.workers.urls.length ? spec.workers.urls : this.#options.defaultWorkers;
  }

  /** The pool of `urls` as one job sees it, with the job's timeout and retries. */
  async forJob(urls: readonly string[], spec: JobSpec): Promise<WorkerPool> {
    return (await this.shared(urls)).forJob({ timeoutMs: spec.workers.timeoutMs, retries: spec.workers.retries });
  }

  /** The shared pool of `urls`, started on first use. */
  shared(urls: readonly string[]): Promise<WorkerPool> {
    const key = [...urls].sort().join(" ");
    let pool = this.#pools.get(key);
    if (!pool) {
      pool = this.#options.createPool
        ? this.#options.createPool(urls)
        : (async () => {
          const p = new HttpPool(urls, { secret: this.#options.workerSecret });
          await p.start();
          return p;
        })();
      this.#pools.set(key, pool);
    }
    return pool;
  }

  /** Starts the pool of the default workers (health checks), so /v1/workers reports them at once. */
  async warm(): Promise<void> {
    if (this.#options.defaultWorkers.length > 0) await this.shared(this.#options.defaultWorkers);
  }

  /** Status of every worker of every pool in use, and of default workers not checked yet. */
  async status(): Promise<WorkerStatus[]> {
    const pools = await Promise.all(this.#pools.values());
    const seen = new Map<string, WorkerStatus>();
    for (const pool of pools) for (const s of pool.status()) seen.set(s.url, s);
    for (const url of this.#options.defaultWorkers) {
      if (!seen.has(url)) seen.set(url, { url, runtime: null, backend: null, healthy: false, latencyMs: null, failures: 0, inFlight: 0, hedged: 0, error: "not checked yet" });
    }
    return [...seen.values()];
  }

  close(): void {
    for (const pool of this.#pools.values()) void pool.then((p) => (p as { close?: () => void }).close?.());
  }
}
