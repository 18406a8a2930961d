/**
 * Stragglers: a request slower than `hedgeMultiple` × the recent median is sent again to an idle
 * worker; the first answer wins and the other is aborted. A retried or hedged shard computes the
 * same numbers (workers are deterministic), so this never changes a result.
 */
import type { GradientsResponse } from "../../core/wire/messages.ts";
import { RequestFailure } from "./request-failure.ts";
import type { Sent, ShardRequest, ShardSender } from "./shard-send.ts";
import type { Slots } from "./slots.ts";
import { median, type WorkerRegistry, type WorkerState } from "./worker-registry.ts";

export interface HedgeOptions {
  readonly registry: WorkerRegistry;
  readonly slots: Slots;
  readonly sender: ShardSender;
  readonly hedgeMultiple: number;
  /** No hedging below this many milliseconds. */
  readonly hedgeMinMs: number;
}

/** What the retry loop shares with the hedge for one shard. */
export interface ShardAttempt {
  readonly signal: AbortSignal;
  /** Workers the shard was sent to; a hedge goes to another. */
  readonly tried: Set<WorkerState>;
  /** Sends the shard has left, hedges included. */
  readonly budget: { sends: number };
}

export class Hedge {
  readonly #options: HedgeOptions;

  constructor(options: HedgeOptions) {
    this.#options = options;
  }

  /**
   * Sends to `first` (its slot already taken) and, once it is slower than the hedge threshold and
   * the budget has a send left, also to an idle worker; the first success wins and the other send
   * is aborted. Rejects as soon as no send of the shard is still running (a fast failure goes back
   * to the retry loop at once, it does not wait for the hedge timer), or at once on a
   * non-retriable failure. Every send's slot is released when it settles.
   */
  send<R extends { timing: GradientsResponse["timing"] }>(first: WorkerState, request: ShardRequest<R>, attempt: ShardAttempt): Promise<Sent<R>> {
    const { registry, slots, sender, hedgeMinMs, hedgeMultiple } = this.#options;
    const { signal, tried, budget } = attempt;
    const running = new Map<WorkerState, AbortController>();
    const abortAll = () => {
      for (const controller of running.values()) controller.abort();
    };
    signal.addEventListener("abort", abortAll, { once: true });
    const recent = registry.workers.flatMap((w) => w.latencies);
    const threshold = recent.length >= 4 ? Math.max(hedgeMinMs, hedgeMultiple * median(recent)) : null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const race = new Promise<Sent<R>>((resolve, reject) => {
      let done = false;
      const launch = (worker: WorkerState) => {
        const controller = new AbortController();
        running.set(worker, controller);
        sender.send(worker, request, { signal: controller.signal })
          .finally(() => {
            running.delete(worker);
            slots.release(worker);
          })
          .then((sent) => {
            if (done) return;
            done = true;
            // `first` was hedged and has still not answered: one more strike against its health.
            if (sent.worker !== first && running.has(first)) registry.strike(first, `no answer within ${Math.round(threshold ?? 0)} ms while another worker answered`);
            resolve(sent);
          }, (error: unknown) => {
            if (done) return;
            const final = error instanceof RequestFailure && !error.retriable;
            // A retriable failure waits only for a send of this shard that is still running.
            if (!final && running.size > 0) return;
            done = true;
            reject(error);
          });
      };
      launch(first);
      if (threshold === null) return;
      timer = setTimeout(() => {
        if (done || budget.sends === 0) return;
        const idle = slots.tryAcquire(tried);
        if (!idle) return;
        budget.sends--;
        first.hedged++;
        tried.add(idle);
        launch(idle);
      }, threshold);
    });
    return race.finally(() => {
      clearTimeout(timer);
      signal.removeEventListener("abort", abortAll);
      abortAll();
    });
  }
}
