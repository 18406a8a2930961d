/**
 * A shard's sends until one succeeds or it fails for good.
 * - Failures: a 4xx is a bug in the request and is not retried (the shard fails with the worker's
 *   message); a 5xx, a timeout or a network error goes back to the retry loop at once and is
 *   retried on another worker after a backoff with jitter. A shard gets `retries` + 1 sends in all,
 *   hedges included; every send is signed afresh (its own nonce), so none repeats a signature.
 */
import { sleep } from "../../core/sleep.ts";
import type { Timing } from "../../core/wire/messages.ts";
import type { Hedge } from "./hedge.ts";
import { RequestFailure } from "./request-failure.ts";
import type { Prepared } from "./request-bodies.ts";
import type { TrafficCount } from "./shard-send.ts";
import type { Slots } from "./slots.ts";
import type { WorkerState } from "./worker-registry.ts";
import type { RequestPolicy, ShardOutcome, ShardTiming } from "./worker-pool.ts";

export interface RetryOptions {
  readonly slots: Slots;
  readonly hedge: Hedge;
}

/** A shard as the retry loop sends it: its path, how its reply decodes, and its body (encoded on first call). */
export interface RetriedShard<R> {
  readonly path: string;
  readonly decodeReply: (bytes: Uint8Array) => R;
  readonly prepared: () => Prepared;
  /** Where its sends count their bytes (the pass's). */
  readonly traffic: TrafficCount;
}

export interface RetryRunOptions {
  readonly signal: AbortSignal;
  readonly policy: RequestPolicy;
}

export class Retry {
  readonly #slots: Slots;
  readonly #hedge: Hedge;

  constructor(options: RetryOptions) {
    this.#slots = options.slots;
    this.#hedge = options.hedge;
  }

  /** The shard's outcome: its first successful reply, or why it failed for good. */
  async run<R extends { readonly timing: Timing }>(shard: RetriedShard<R>, options: RetryRunOptions): Promise<ShardOutcome<R>> {
    const { path, decodeReply, prepared, traffic } = shard;
    const { signal, policy } = options;
    const tried = new Set<WorkerState>();
    // Every send counts, hedges included: `retries` bounds what one shard can cost the workers.
    const budget = { sends: policy.retries + 1 };
    let lastError = "no attempt was made";
    for (let attempt = 0; budget.sends > 0; attempt++) {
      if (signal.aborted) return { ok: false, error: { code: "cancelled", message: "the job was cancelled", retriable: false } };
      if (attempt > 0) await sleep(backoff(attempt), signal);
      const worker = await this.#slots.acquire(tried, signal);
      if (!worker) {
        return { ok: false, error: { code: "no_workers", message: `no healthy worker left (last error: ${lastError})`, retriable: false } };
      }
      budget.sends--;
      tried.add(worker);
      // Encoded once a worker is ready for it, and sent without yielding: the shards of a step
      // are dispatched together, and each is on the wire while the next one is being encoded.
      let body: Uint8Array, digest: string | null, encodeMs: number;
      try {
        ({ body, digest, encodeMs } = prepared());
      } catch (error) {
        this.#slots.release(worker);
        return { ok: false, error: { code: "bad_request", message: `cannot encode the request: ${(error as Error).message}`, retriable: false } };
      }
      try {
        const request = { path, body, digest, decodeReply, timeoutMs: policy.timeoutMs, traffic };
        const { reply, worker: winner, roundTripMs, decodeMs } = await this.#hedge.send(worker, request, { signal, tried, budget });
        const w = reply.timing;
        const workerMs = w.verifyMs + w.decodeMs + w.queueMs + w.computeMs + w.encodeMs;
        const timing: ShardTiming = {
          encode: encodeMs,
          transfer: Math.max(0, roundTripMs - workerMs),
          compute: w.computeMs,
          decode: decodeMs + w.decodeMs,
          worker: w,
        };
        return { ok: true, value: reply, worker: winner.url, timing };
      } catch (error) {
        if (signal.aborted) return { ok: false, error: { code: "cancelled", message: "the job was cancelled", retriable: false } };
        const failure = error instanceof RequestFailure ? error : new RequestFailure(String((error as Error).message), true, "network", worker.url);
        lastError = `${failure.worker}: ${failure.message}`;
        if (!failure.retriable) return { ok: false, error: { code: failure.code, message: lastError, retriable: false } };
      }
    }
    const sends = policy.retries + 1;
    return { ok: false, error: { code: "retries_exhausted", message: `gave up after ${sends} attempt${sends === 1 ? "" : "s"} (last error: ${lastError})`, retriable: false } };
  }
}

/** Milliseconds before attempt `attempt` (1, 2, ...): exponential from 50 ms up to 2 s, with jitter in its upper half. */
function backoff(attempt: number): number {
  const base = Math.min(2_000, 50 * 2 ** (attempt - 1));
  return base / 2 + Math.random() * (base / 2);
}
