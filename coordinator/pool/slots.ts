/**
 * Request slots. Concurrency: at most `concurrency` requests in flight per worker (fewer when the
 * worker advertises a smaller `maxInFlight`); shards wait in one FIFO queue, so jobs sharing the
 * pool take turns.
 */
import type { WorkerState } from "./worker-registry.ts";

export interface SlotsOptions {
  readonly concurrency: number;
}

export class Slots {
  readonly #workers: readonly WorkerState[];
  readonly #concurrency: number;
  readonly #waiters: (() => void)[] = [];

  constructor(workers: readonly WorkerState[], options: SlotsOptions) {
    this.#workers = workers;
    this.#concurrency = options.concurrency;
  }

  /** A healthy worker with a free slot, preferring untried and least loaded; waits when all are busy. */
  async acquire(tried: Set<WorkerState>, signal: AbortSignal): Promise<WorkerState | null> {
    for (;;) {
      if (!this.#workers.some((w) => w.healthy)) return null;
      const worker = this.tryAcquire(tried) ?? this.tryAcquire(new Set());
      if (worker) return worker;
      if (signal.aborted) return null;
      await this.#wait(signal);
      if (signal.aborted) return null;
    }
  }

  /** The least loaded healthy worker outside `exclude` with a free slot, now, or null. */
  tryAcquire(exclude: Set<WorkerState>): WorkerState | null {
    let best: WorkerState | null = null;
    for (const w of this.#workers) {
      if (!w.healthy || exclude.has(w) || w.inFlight >= this.#limit(w)) continue;
      if (!best || w.inFlight < best.inFlight) best = w;
    }
    if (best) best.inFlight++;
    return best;
  }

  /** Frees a slot of `worker` for the first shard waiting. */
  release(worker: WorkerState): void {
    worker.inFlight--;
    this.#waiters.shift()?.();
  }

  /** Health changed or the pool closes: every waiting shard looks again. */
  wakeAll(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }

  /** Until a slot is released or health changes, or `signal` aborts; leaves no listener or waiter behind. */
  #wait(signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = () => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => {
        const i = this.#waiters.indexOf(wake);
        if (i >= 0) this.#waiters.splice(i, 1);
        resolve();
      };
      this.#waiters.push(wake);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  #limit(w: WorkerState): number {
    return Math.max(1, Math.min(this.#concurrency, w.health?.limits.maxInFlight ?? this.#concurrency));
  }
}
