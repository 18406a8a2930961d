/**
 * The pool's workers and their health.
 * - Health: `GET /v1/health` (health-check.ts) at start and for unhealthy workers every
 *   `probeIntervalMs`; a worker's advertised limits bound the shards the planner makes.
 * - Stalls: `unhealthyAfter` requests of a worker in a row that failed, timed out or lost to a
 *   hedge take it out until a probe answers, so a stopped worker costs a few steps, not the stall.
 */
import type { HealthResponse } from "../../core/wire/messages.ts";
import type { PoolCapacity, WorkerStatus } from "./worker-pool.ts";

/** One worker as the pool sees it; slots, the hedge and the sends update it in place. */
export interface WorkerState {
  readonly url: string;
  health: HealthResponse | null;
  healthy: boolean;
  failures: number;
  consecutiveFailures: number;
  inFlight: number;
  latencies: number[];
  probing: boolean;
  nextProbe: number;
  /** Requests of this worker that were also sent elsewhere because it was slow. */
  hedged: number;
  /** Why the worker is unhealthy (null while healthy). */
  error: string | null;
}

export interface WorkerRegistryOptions {
  readonly unhealthyAfter: number;
  readonly probeIntervalMs: number;
  /** A worker's health by its URL; rejects with why the worker is unhealthy. */
  readonly checkHealth: (url: string) => Promise<HealthResponse>;
  /** A worker was taken out or came back: shards waiting for a slot look again. */
  readonly onHealthChange: () => void;
}

/** Round trips kept per worker for its median latency. */
const LATENCY_WINDOW = 32;

export class WorkerRegistry {
  readonly workers: readonly WorkerState[];
  readonly #options: WorkerRegistryOptions;
  #probeTimer: ReturnType<typeof setInterval> | null = null;

  constructor(urls: readonly string[], options: WorkerRegistryOptions) {
    this.workers = urls.map((url) => ({
      url: url.replace(/\/+$/, ""),
      health: null,
      healthy: false,
      failures: 0,
      consecutiveFailures: 0,
      inFlight: 0,
      latencies: [],
      probing: false,
      nextProbe: 0,
      hedged: 0,
      error: null,
    }));
    this.#options = options;
  }

  /** Checks every worker's health, then probes the unhealthy ones until `close`; resolves when all have answered or failed. */
  async start(): Promise<void> {
    await Promise.all(this.workers.map((w) => this.#probe(w)));
    this.#probeTimer ??= setInterval(() => this.#probeUnhealthy(), this.#options.probeIntervalMs);
    // Do not keep a process alive just to probe.
    (this.#probeTimer as { unref?: () => void }).unref?.();
  }

  close(): void {
    if (this.#probeTimer) clearInterval(this.#probeTimer);
    this.#probeTimer = null;
  }

  capacity(): PoolCapacity {
    const healthy = this.workers.filter((w) => w.healthy && w.health);
    const smallest = (key: Exclude<keyof PoolCapacity["limits"], "maxRoundExamples">) => healthy.length ? Math.min(...healthy.map((w) => w.health!.limits[key])) : undefined;
    return {
      workers: healthy.length,
      limits: {
        maxParameters: smallest("maxParameters"),
        maxExamples: smallest("maxExamples"),
        maxActivations: smallest("maxActivations"),
        maxChunkGradients: smallest("maxChunkGradients"),
        maxBodyBytes: smallest("maxBodyBytes"),
        // Optional in health replies: a worker that predates /v1/rounds does not bound them.
        maxRoundExamples: healthy.length ? Math.min(...healthy.map((w) => w.health!.limits.maxRoundExamples ?? Number.MAX_SAFE_INTEGER)) : undefined,
      },
      inputCodes: healthy.length > 0 && healthy.every((w) => w.health!.inputCodes === true),
      returnInnerState: healthy.length > 0 && healthy.every((w) => w.health!.returnInnerState === true),
    };
  }

  status(): readonly WorkerStatus[] {
    return this.workers.map((w) => ({
      url: w.url,
      runtime: w.health?.runtime ?? null,
      backend: w.health?.backend ?? null,
      healthy: w.healthy,
      latencyMs: w.latencies.length ? median(w.latencies) : null,
      failures: w.failures,
      inFlight: w.inFlight,
      hedged: w.hedged,
      error: w.error,
    }));
  }

  /** `worker` answered a request in `roundTripMs`: its strikes are cleared. */
  answered(worker: WorkerState, roundTripMs: number): void {
    worker.consecutiveFailures = 0;
    worker.latencies.push(roundTripMs);
    if (worker.latencies.length > LATENCY_WINDOW) worker.latencies.shift();
  }

  /** A request of `worker` failed: counted in its status, and a strike. */
  failed(worker: WorkerState, reason: string): void {
    worker.failures++;
    this.strike(worker, reason);
  }

  /** A request of `worker` failed or went unanswered; `unhealthyAfter` in a row take it out until a probe answers. */
  strike(worker: WorkerState, reason: string): void {
    worker.consecutiveFailures++;
    if (worker.consecutiveFailures >= this.#options.unhealthyAfter && worker.healthy) {
      worker.healthy = false;
      worker.error = `${worker.consecutiveFailures} requests in a row failed or went unanswered (last: ${reason})`;
      worker.nextProbe = Date.now() + this.#options.probeIntervalMs;
      this.#options.onHealthChange();
    }
  }

  #probeUnhealthy(): void {
    const now = Date.now();
    for (const w of this.workers) if (!w.healthy && !w.probing && now >= w.nextProbe) void this.#probe(w);
  }

  async #probe(worker: WorkerState): Promise<void> {
    worker.probing = true;
    try {
      worker.health = await this.#options.checkHealth(worker.url);
      worker.healthy = true;
      worker.error = null;
      worker.consecutiveFailures = 0;
      this.#options.onHealthChange();
    } catch (error) {
      worker.healthy = false;
      worker.error = (error as Error).message;
      worker.nextProbe = Date.now() + this.#options.probeIntervalMs;
    } finally {
      worker.probing = false;
    }
  }
}

/** The median of round-trip times (a worker's status, the hedge threshold). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
