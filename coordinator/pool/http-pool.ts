/**
 * Edge functions over HTTP: the pool users run. Each shard is one signed MessagePack request.
 * - Health: `GET /v1/health` at start and for unhealthy workers every `probeIntervalMs`; a worker's
 *   advertised limits bound the shards the planner makes.
 * - Concurrency: at most `concurrency` requests in flight per worker; shards wait in one FIFO
 *   queue, so jobs sharing the pool take turns.
 * - Health: the probe is signed when the pool has a secret, so a worker with another secret (it
 *   answers 401) is unhealthy with the reason in its status (`error`), not healthy with every
 *   request refused.
 * - Failures: a 4xx is a bug in the request and is not retried (the shard fails with the worker's
 *   message); a 5xx, a timeout or a network error goes back to the retry loop at once and is
 *   retried on another worker after a backoff with jitter. A shard gets `retries` + 1 sends in all,
 *   hedges included; every send is signed afresh (its own nonce), so none repeats a signature.
 * - Stragglers: a request slower than `hedgeMultiple` × the recent median is sent again to an idle
 *   worker; the first answer wins and the other is aborted. A retried or hedged shard computes the
 *   same numbers (workers are deterministic), so this never changes a result.
 * - Stalls: `unhealthyAfter` requests of a worker in a row that failed, timed out or lost to a
 *   hedge take it out until a probe answers, so a stopped worker costs a few steps, not the stall.
 * - Per job: `forJob` gives a view of the same workers, slots and health with a job's own timeout
 *   and retries (JobSpec.workers).
 */
import { sleep } from "../../core/sleep.ts";
import {
  decodeEvaluateResponse,
  decodeGradientsResponse,
  type ErrorBody,
  type EvaluateResponse,
  type GradientsResponse,
  type HealthResponse,
  parseHealth,
} from "../../core/wire/messages.ts";
import { createHmac } from "node:crypto";
import { BufferPool } from "./buffer-pool.ts";
import { HttpTransport, ReplyTooLarge, type TransportReply } from "./http-transport.ts";
import { type Prepared, RequestBodies } from "./request-bodies.ts";
import { newNonce, signRequestWith } from "../../core/wire/signing.ts";
import type { EvaluateShardResult, GradientShardResult } from "../../core/shard.ts";
import type { EvaluationTask, StepTask } from "../../core/work.ts";
import { type PassResult, passTiming, type PoolCapacity, type RequestPolicy, type RunOptions, type ShardOutcome, type ShardTiming, type WorkerPool, type WorkerStatus } from "./worker-pool.ts";

export interface HttpPoolOptions {
  /** Shared HMAC secret; without one requests go unsigned (workers started with EDGEPROP_INSECURE=1). */
  readonly secret?: string;
  /** Defaults of the request policy; a job's own come through `forJob`. */
  readonly timeoutMs?: number;
  readonly retries?: number;
  /** Requests in flight per worker (default 2: one computing, one in transfer). */
  readonly concurrency?: number;
  readonly hedgeMultiple?: number;
  /** No hedging below this many milliseconds. */
  readonly hedgeMinMs?: number;
  readonly unhealthyAfter?: number;
  readonly probeIntervalMs?: number;
  /** Largest reply accepted from a worker, in bytes (default 256 MiB); a larger one is a failed attempt. */
  readonly maxReplyBytes?: number;
}

interface Worker {
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

/** What a successful send brings back. */
interface Sent<R> {
  readonly reply: R;
  readonly worker: Worker;
  readonly roundTripMs: number;
  readonly decodeMs: number;
}

/** SHA-256 of the empty body, the digest a signed GET covers. */
const EMPTY_DIGEST = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

class RequestFailure extends Error {
  /** `worker`: the URL of the worker that failed. */
  constructor(message: string, readonly retriable: boolean, readonly code: string, readonly worker: string) {
    super(message);
  }
}

/** One shard's request, as every send of it goes out. */
interface ShardRequest<R> {
  readonly path: string;
  readonly body: Uint8Array;
  readonly digest: string | null;
  readonly decodeReply: (bytes: Uint8Array) => R;
  readonly timeoutMs: number;
}

const LATENCY_WINDOW = 32;

export class HttpPool implements WorkerPool {
  readonly #workers: Worker[];
  readonly #options: Required<Omit<HttpPoolOptions, "secret" | "maxReplyBytes">>;
  /** The policy of requests sent without `forJob`. */
  readonly #policy: RequestPolicy;
  readonly #transport: HttpTransport;
  /** HMAC-SHA256 with the shared secret, synchronous (node:crypto) so that nothing yields between
   * encoding a shard and handing it to the socket: with Web Crypto every other shard of the step
   * was encoded before the first one left. Null without a secret. */
  readonly #hmac: ((canonical: string) => string) | null;
  readonly #waiters: (() => void)[] = [];
  /** Request bodies in reused memory; the shards of a task share the encoding of its context. */
  readonly #bodies: RequestBodies;
  #probeTimer: ReturnType<typeof setInterval> | null = null;

  constructor(urls: readonly string[], options: HttpPoolOptions = {}) {
    if (urls.length === 0) throw new RangeError("Cannot create worker pool: 'urls' must name at least one worker");
    this.#workers = urls.map((url) => ({
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
    this.#options = {
      timeoutMs: options.timeoutMs ?? 10_000,
      retries: options.retries ?? 3,
      concurrency: options.concurrency ?? 2,
      hedgeMultiple: options.hedgeMultiple ?? 3,
      hedgeMinMs: options.hedgeMinMs ?? 200,
      unhealthyAfter: options.unhealthyAfter ?? 3,
      probeIntervalMs: options.probeIntervalMs ?? 2_000,
    };
    this.#policy = { timeoutMs: this.#options.timeoutMs, retries: this.#options.retries };
    this.#transport = new HttpTransport({ maxReplyBytes: options.maxReplyBytes });
    const secret = options.secret;
    this.#hmac = secret ? (canonical) => createHmac("sha256", secret).update(canonical).digest("hex") : null;
    // One body per request in flight, and the shared fields of a few steps (of jobs sharing the pool).
    const buffers = new BufferPool({ buffers: this.#workers.length * this.#options.concurrency + 4 });
    this.#bodies = new RequestBodies(buffers, { signed: this.#hmac !== null });
  }

  get urls(): string[] {
    return this.#workers.map((w) => w.url);
  }

  /** Checks every worker's health; resolves when all have answered or failed. */
  async start(): Promise<void> {
    await Promise.all(this.#workers.map((w) => this.#probe(w)));
    this.#probeTimer ??= setInterval(() => this.#probeUnhealthy(), this.#options.probeIntervalMs);
    // Do not keep a process alive just to probe.
    (this.#probeTimer as { unref?: () => void }).unref?.();
  }

  close(): void {
    if (this.#probeTimer) clearInterval(this.#probeTimer);
    this.#probeTimer = null;
    for (const wake of this.#waiters.splice(0)) wake();
    this.#transport.close();
  }

  capacity(): PoolCapacity {
    const healthy = this.#workers.filter((w) => w.healthy && w.health);
    const smallest = (key: keyof PoolCapacity["limits"]) => healthy.length ? Math.min(...healthy.map((w) => w.health!.limits[key])) : undefined;
    return {
      workers: healthy.length,
      limits: {
        maxParameters: smallest("maxParameters"),
        maxExamples: smallest("maxExamples"),
        maxActivations: smallest("maxActivations"),
        maxChunkGradients: smallest("maxChunkGradients"),
        maxBodyBytes: smallest("maxBodyBytes"),
      },
    };
  }

  status(): readonly WorkerStatus[] {
    return this.#workers.map((w) => ({
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

  /** The same workers, slots and health, with a job's own timeout and retries. */
  forJob(policy: RequestPolicy): WorkerPool {
    return {
      capacity: () => this.capacity(),
      status: () => this.status(),
      runStep: (task, options) => this.#run("/v1/gradients", task, decodeGradientsResponse, options, policy),
      runEvaluation: (task, options) => this.#run("/v1/evaluate", task, decodeEvaluateResponse, options, policy),
      forJob: (other) => this.forJob(other),
    };
  }

  runStep(task: StepTask, options: RunOptions<GradientShardResult>): Promise<PassResult<GradientShardResult>> {
    return this.#run("/v1/gradients", task, decodeGradientsResponse, options, this.#policy);
  }

  runEvaluation(task: EvaluationTask, options: RunOptions<EvaluateShardResult>): Promise<PassResult<EvaluateShardResult>> {
    return this.#run("/v1/evaluate", task, decodeEvaluateResponse, options, this.#policy);
  }

  /** Every shard of a task dispatched together; their bodies share the encoding of the task's context. */
  async #run<R extends GradientsResponse | EvaluateResponse>(
    path: string,
    task: StepTask | EvaluationTask,
    decodeReply: (bytes: Uint8Array) => R,
    options: RunOptions<R>,
    policy: RequestPolicy,
  ): Promise<PassResult<R>> {
    const bodies = this.#bodies.open(task.context, task.shards);
    try {
      const outcomes = await Promise.all(task.shards.map(async (_, index) => {
        const outcome = await this.#attempts(path, decodeReply, options.signal, () => bodies.prepare(index), policy);
        options.onOutcome?.(index, outcome);
        return outcome;
      }));
      return { outcomes, timing: passTiming(outcomes) };
    } finally {
      // Every attempt has settled, and the transport reads no body after that.
      bodies.close();
    }
  }

  async #attempts<R extends GradientsResponse | EvaluateResponse>(
    path: string,
    decodeReply: (bytes: Uint8Array) => R,
    signal: AbortSignal,
    prepared: () => Prepared,
    policy: RequestPolicy,
  ): Promise<ShardOutcome<R>> {
    const tried = new Set<Worker>();
    // Every send counts, hedges included: `retries` bounds what one shard can cost the workers.
    const budget = { sends: policy.retries + 1 };
    let lastError = "no attempt was made";
    for (let attempt = 0; budget.sends > 0; attempt++) {
      if (signal.aborted) return { ok: false, error: { code: "cancelled", message: "the job was cancelled", retriable: false } };
      if (attempt > 0) await sleep(backoff(attempt), signal);
      const worker = await this.#acquire(tried, signal);
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
        this.#release(worker);
        return { ok: false, error: { code: "bad_request", message: `cannot encode the request: ${(error as Error).message}`, retriable: false } };
      }
      try {
        const { reply, worker: winner, roundTripMs, decodeMs } = await this.#hedged(worker, { path, body, digest, decodeReply, timeoutMs: policy.timeoutMs }, signal, tried, budget);
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

  /**
   * Sends to `first` and, once it is slower than the hedge threshold and the budget has a send
   * left, also to an idle worker; the first success wins and the other send is aborted. Rejects as
   * soon as no send of the shard is still running (a fast failure goes back to the retry loop at
   * once, it does not wait for the hedge timer), or at once on a non-retriable failure.
   */
  #hedged<R extends { timing: GradientsResponse["timing"] }>(
    first: Worker,
    request: ShardRequest<R>,
    signal: AbortSignal,
    tried: Set<Worker>,
    budget: { sends: number },
  ): Promise<Sent<R>> {
    const running = new Map<Worker, AbortController>();
    const abortAll = () => {
      for (const controller of running.values()) controller.abort();
    };
    signal.addEventListener("abort", abortAll, { once: true });
    const recent = this.#workers.flatMap((w) => w.latencies);
    const threshold = recent.length >= 4 ? Math.max(this.#options.hedgeMinMs, this.#options.hedgeMultiple * median(recent)) : null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const race = new Promise<Sent<R>>((resolve, reject) => {
      let done = false;
      const launch = (worker: Worker) => {
        const controller = new AbortController();
        running.set(worker, controller);
        this.#send(worker, request, controller.signal)
          .finally(() => {
            running.delete(worker);
            this.#release(worker);
          })
          .then((sent) => {
            if (done) return;
            done = true;
            // `first` was hedged and has still not answered: one more strike against its health.
            if (sent.worker !== first && running.has(first)) this.#strike(first, `no answer within ${Math.round(threshold ?? 0)} ms while another worker answered`);
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
        const idle = this.#tryAcquire(tried);
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

  async #send<R>(worker: Worker, request: ShardRequest<R>, signal: AbortSignal): Promise<Sent<R>> {
    const { path, body, digest, decodeReply, timeoutMs } = request;
    const headers: Record<string, string> = { "content-type": "application/x-msgpack" };
    // A fresh nonce per send: a retry to the same worker within the second never repeats a signature.
    if (this.#hmac && digest !== null) Object.assign(headers, signRequestWith(this.#hmac, { method: "POST", path, digest, nonce: newNonce() }));
    const timeout = AbortSignal.timeout(timeoutMs);
    const t0 = performance.now();
    let response: TransportReply;
    try {
      response = await this.#transport.request(worker.url + path, { method: "POST", headers, body, signal: AbortSignal.any([signal, timeout]) });
    } catch (error) {
      if (signal.aborted) throw error;
      let failure: RequestFailure;
      if (error instanceof ReplyTooLarge) failure = new RequestFailure(`unreadable reply: ${error.message}`, true, "bad_reply", worker.url);
      else if (timeout.aborted) failure = new RequestFailure(`timed out after ${timeoutMs} ms`, true, "timeout", worker.url);
      else failure = new RequestFailure(`request failed: ${(error as Error).message}`, true, "network", worker.url);
      this.#failed(worker, failure.message);
      throw failure;
    }
    const roundTripMs = performance.now() - t0;
    const t1 = performance.now();
    let reply: R;
    try {
      if (response.status !== 200) {
        const message = errorMessage(response.bytes, response.status);
        if (response.status >= 400 && response.status < 500) {
          throw new RequestFailure(message, false, response.status === 401 ? "unauthorized" : "bad_request", worker.url);
        }
        this.#failed(worker, message);
        throw new RequestFailure(message, true, "server_error", worker.url);
      }
      try {
        reply = decodeReply(response.bytes);
      } catch (error) {
        const message = `unreadable reply: ${(error as Error).message}`;
        this.#failed(worker, message);
        throw new RequestFailure(message, true, "bad_reply", worker.url);
      }
    } finally {
      // The decoded reply holds copies of its tensors: the bytes can be reused.
      response.release();
    }
    worker.consecutiveFailures = 0;
    worker.latencies.push(roundTripMs);
    if (worker.latencies.length > LATENCY_WINDOW) worker.latencies.shift();
    return { reply, worker, roundTripMs, decodeMs: performance.now() - t1 };
  }

  #failed(worker: Worker, reason: string): void {
    worker.failures++;
    this.#strike(worker, reason);
  }

  /** A request of `worker` failed or went unanswered; `unhealthyAfter` in a row take it out until a probe answers. */
  #strike(worker: Worker, reason: string): void {
    worker.consecutiveFailures++;
    if (worker.consecutiveFailures >= this.#options.unhealthyAfter && worker.healthy) {
      worker.healthy = false;
      worker.error = `${worker.consecutiveFailures} requests in a row failed or went unanswered (last: ${reason})`;
      worker.nextProbe = Date.now() + this.#options.probeIntervalMs;
      this.#wakeAll();
    }
  }

  /** A healthy worker with a free slot, preferring untried and least loaded; waits when all are busy. */
  async #acquire(tried: Set<Worker>, signal: AbortSignal): Promise<Worker | null> {
    for (;;) {
      if (!this.#workers.some((w) => w.healthy)) return null;
      const worker = this.#tryAcquire(tried) ?? this.#tryAcquire(new Set());
      if (worker) return worker;
      if (signal.aborted) return null;
      await this.#wait(signal);
      if (signal.aborted) return null;
    }
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

  #tryAcquire(exclude: Set<Worker>): Worker | null {
    let best: Worker | null = null;
    for (const w of this.#workers) {
      if (!w.healthy || exclude.has(w) || w.inFlight >= this.#slots(w)) continue;
      if (!best || w.inFlight < best.inFlight) best = w;
    }
    if (best) best.inFlight++;
    return best;
  }

  #slots(w: Worker): number {
    return Math.max(1, Math.min(this.#options.concurrency, w.health?.limits.maxInFlight ?? this.#options.concurrency));
  }

  #release(worker: Worker): void {
    worker.inFlight--;
    this.#waiters.shift()?.();
  }

  #wakeAll(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }

  #probeUnhealthy(): void {
    const now = Date.now();
    for (const w of this.#workers) if (!w.healthy && !w.probing && now >= w.nextProbe) void this.#probe(w);
  }

  async #probe(worker: Worker): Promise<void> {
    worker.probing = true;
    try {
      worker.health = await this.#health(worker);
      worker.healthy = true;
      worker.error = null;
      worker.consecutiveFailures = 0;
      this.#wakeAll();
    } catch (error) {
      worker.healthy = false;
      worker.error = (error as Error).message;
      worker.nextProbe = Date.now() + this.#options.probeIntervalMs;
    } finally {
      worker.probing = false;
    }
  }

  /**
   * GET /v1/health, signed when the pool has a secret: the worker verifies the signature, so a
   * worker that would refuse every request (another secret) fails its health check with the reason.
   */
  async #health(worker: Worker): Promise<HealthResponse> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (this.#hmac) Object.assign(headers, signRequestWith(this.#hmac, { method: "GET", path: "/v1/health", digest: EMPTY_DIGEST, nonce: newNonce() }));
    const timeoutMs = Math.min(this.#options.timeoutMs, 5_000);
    let response: TransportReply;
    try {
      response = await this.#transport.request(`${worker.url}/v1/health`, { method: "GET", headers, signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      throw new Error((error as Error).name === "TimeoutError" ? `health check timed out after ${timeoutMs} ms` : `health check failed: ${(error as Error).message}`);
    }
    try {
      if (response.status === 401) {
        const message = errorMessage(response.bytes, response.status);
        throw new Error(`${/does not match/.test(message) ? "wrong secret" : "signature refused"}: the worker rejects this coordinator's signed health check (${message})`);
      }
      if (response.status !== 200) throw new Error(`health check failed: ${errorMessage(response.bytes, response.status)}`);
      return parseHealth(JSON.parse(new TextDecoder().decode(response.bytes)));
    } catch (error) {
      if (error instanceof SyntaxError) throw new Error(`health check failed: the reply is not JSON (${error.message})`);
      throw error;
    } finally {
      response.release();
    }
  }
}

function errorMessage(bytes: Uint8Array, status: number): string {
  try {
    const body = JSON.parse(new TextDecoder().decode(bytes)) as ErrorBody;
    return `HTTP ${status} ${body.error.code}: ${body.error.message}`;
  } catch {
    return `HTTP ${status}`;
  }
}

function backoff(attempt: number): number {
  const base = Math.min(2_000, 50 * 2 ** (attempt - 1));
  return base / 2 + Math.random() * (base / 2);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
