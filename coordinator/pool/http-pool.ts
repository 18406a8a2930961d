/**
 * Edge functions over HTTP: the pool users run. Each shard is one signed MessagePack request.
 * - Health: `GET /v1/health` at start and for unhealthy workers every `probeIntervalMs`; a worker's
 *   advertised limits bound the shards the planner makes.
 * - Concurrency: at most `concurrency` requests in flight per worker; shards wait in one FIFO
 *   queue, so jobs sharing the pool take turns.
 * - Failures: a 4xx is a bug in the request and is not retried (the shard fails with the worker's
 *   message); a 5xx, a timeout or a network error is retried on another worker after a backoff
 *   with jitter, up to `retries` times; `unhealthyAfter` consecutive failures take a worker out
 *   until a probe succeeds.
 * - Stragglers: a request slower than `hedgeMultiple` × the recent median is sent again to an idle
 *   worker; the first answer wins and the other is aborted. A retried or hedged shard computes the
 *   same numbers (workers are deterministic), so this never changes a result.
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
import { signRequestWith } from "../../core/wire/signing.ts";
import type { EvaluateShardResult, EvaluateTask, GradientShardResult, GradientTask } from "../../core/shard.ts";
import type { PoolCapacity, ShardOutcome, ShardTiming, WorkerPool, WorkerStatus } from "./worker-pool.ts";

export interface HttpPoolOptions {
  /** Shared HMAC secret; without one requests go unsigned (workers started with EDGEPROP_INSECURE=1). */
  readonly secret?: string;
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
}

class RequestFailure extends Error {
  constructor(message: string, readonly retriable: boolean, readonly code: string) {
    super(message);
  }
}

const LATENCY_WINDOW = 32;

export class HttpPool implements WorkerPool {
  readonly #workers: Worker[];
  readonly #options: Required<Omit<HttpPoolOptions, "secret" | "maxReplyBytes">>;
  readonly #transport: HttpTransport;
  /** HMAC-SHA256 with the shared secret, synchronous (node:crypto) so that nothing yields between
   * encoding a shard and handing it to the socket: with Web Crypto every other shard of the step
   * was encoded before the first one left. Null without a secret. */
  readonly #hmac: ((canonical: string) => string) | null;
  readonly #waiters: (() => void)[] = [];
  /** Request bodies in reused memory; the shards of a step share the encoding of their common fields. */
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
    }));
  }

  gradients(task: GradientTask, signal: AbortSignal): Promise<ShardOutcome<GradientShardResult>> {
    return this.#dispatch("/v1/gradients", task, decodeGradientsResponse, signal);
  }

  evaluate(task: EvaluateTask, signal: AbortSignal): Promise<ShardOutcome<EvaluateShardResult>> {
    return this.#dispatch("/v1/evaluate", task, decodeEvaluateResponse, signal);
  }

  async #dispatch<R extends GradientsResponse | EvaluateResponse>(
    path: string,
    task: object,
    decodeReply: (bytes: Uint8Array) => R,
    signal: AbortSignal,
  ): Promise<ShardOutcome<R>> {
    // Opened at once, so that the shards of a step dispatched together share their common fields.
    const body = this.#bodies.open(task);
    try {
      return await this.#attempts(path, decodeReply, signal, () => body.prepare());
    } finally {
      // Every attempt has settled, and the transport reads no body after that.
      body.close();
    }
  }

  async #attempts<R extends GradientsResponse | EvaluateResponse>(
    path: string,
    decodeReply: (bytes: Uint8Array) => R,
    signal: AbortSignal,
    prepared: () => Prepared,
  ): Promise<ShardOutcome<R>> {
    const tried = new Set<Worker>();
    let lastError = "no attempt was made";
    for (let attempt = 0; attempt <= this.#options.retries; attempt++) {
      if (signal.aborted) return { ok: false, error: { code: "cancelled", message: "the job was cancelled", retriable: false } };
      if (attempt > 0) await sleep(backoff(attempt), signal);
      const worker = await this.#acquire(tried, signal);
      if (!worker) {
        return { ok: false, error: { code: "no_workers", message: `no healthy worker left (last error: ${lastError})`, retriable: false } };
      }
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
        const { reply, worker: winner, roundTripMs, decodeMs } = await this.#hedged(worker, path, body, digest, decodeReply, signal, tried);
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
        const failure = error instanceof RequestFailure ? error : new RequestFailure(String((error as Error).message), true, "network");
        lastError = `${worker.url}: ${failure.message}`;
        if (!failure.retriable) return { ok: false, error: { code: failure.code, message: lastError, retriable: false } };
      }
    }
    return { ok: false, error: { code: "retries_exhausted", message: `gave up after ${this.#options.retries + 1} attempts (last error: ${lastError})`, retriable: false } };
  }

  /** Sends to `first`; if it is slow, also to an idle worker; the first success wins. */
  async #hedged<R extends { timing: GradientsResponse["timing"] }>(
    first: Worker,
    path: string,
    body: Uint8Array,
    digest: string | null,
    decodeReply: (bytes: Uint8Array) => R,
    signal: AbortSignal,
    tried: Set<Worker>,
  ): Promise<{ reply: R; worker: Worker; roundTripMs: number; decodeMs: number }> {
    const controllers: AbortController[] = [];
    const launch = (worker: Worker) => {
      const controller = new AbortController();
      controllers.push(controller);
      const onAbort = () => controller.abort();
      signal.addEventListener("abort", onAbort, { once: true });
      return this.#send(worker, path, body, digest, decodeReply, controller.signal)
        .finally(() => {
          signal.removeEventListener("abort", onAbort);
          this.#release(worker);
        });
    };
    const attempts = [launch(first)];
    const recent = this.#workers.flatMap((w) => w.latencies);
    const threshold = recent.length >= 4 ? Math.max(this.#options.hedgeMinMs, this.#options.hedgeMultiple * median(recent)) : null;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const hedge = threshold === null ? null : new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        const idle = this.#tryAcquire(tried);
        if (idle) {
          first.hedged++;
          tried.add(idle);
          attempts.push(launch(idle));
        }
        resolve();
      }, threshold);
    });
    try {
      return await firstSuccess(attempts, hedge);
    } finally {
      if (timer) clearTimeout(timer);
      for (const c of controllers) c.abort();
    }
  }

  async #send<R>(
    worker: Worker,
    path: string,
    body: Uint8Array,
    digest: string | null,
    decodeReply: (bytes: Uint8Array) => R,
    signal: AbortSignal,
  ): Promise<{ reply: R; worker: Worker; roundTripMs: number; decodeMs: number }> {
    const headers: Record<string, string> = { "content-type": "application/x-msgpack" };
    if (this.#hmac && digest !== null) Object.assign(headers, signRequestWith(this.#hmac, { method: "POST", path, digest }));
    const timeout = AbortSignal.timeout(this.#options.timeoutMs);
    const t0 = performance.now();
    let response: TransportReply;
    try {
      response = await this.#transport.request(worker.url + path, { method: "POST", headers, body, signal: AbortSignal.any([signal, timeout]) });
    } catch (error) {
      if (signal.aborted) throw error;
      this.#failed(worker);
      if (error instanceof ReplyTooLarge) throw new RequestFailure(`unreadable reply: ${error.message}`, true, "bad_reply");
      const message = timeout.aborted ? `timed out after ${this.#options.timeoutMs} ms` : `request failed: ${(error as Error).message}`;
      throw new RequestFailure(message, true, timeout.aborted ? "timeout" : "network");
    }
    const roundTripMs = performance.now() - t0;
    const t1 = performance.now();
    let reply: R;
    try {
      if (response.status !== 200) {
        const message = errorMessage(response.bytes, response.status);
        if (response.status >= 400 && response.status < 500) {
          throw new RequestFailure(message, false, response.status === 401 ? "unauthorized" : "bad_request");
        }
        this.#failed(worker);
        throw new RequestFailure(message, true, "server_error");
      }
      try {
        reply = decodeReply(response.bytes);
      } catch (error) {
        this.#failed(worker);
        throw new RequestFailure(`unreadable reply: ${(error as Error).message}`, true, "bad_reply");
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

  #failed(worker: Worker): void {
    worker.failures++;
    worker.consecutiveFailures++;
    if (worker.consecutiveFailures >= this.#options.unhealthyAfter && worker.healthy) {
      worker.healthy = false;
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
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        signal.addEventListener("abort", () => resolve(), { once: true });
      });
      if (signal.aborted) return null;
    }
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
      const response = await this.#transport.request(`${worker.url}/v1/health`, {
        method: "GET",
        headers: { accept: "application/json" },
        signal: AbortSignal.timeout(Math.min(this.#options.timeoutMs, 5_000)),
      });
      let body: unknown;
      try {
        if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
        body = JSON.parse(new TextDecoder().decode(response.bytes));
      } finally {
        response.release();
      }
      worker.health = parseHealth(body);
      worker.healthy = true;
      worker.consecutiveFailures = 0;
      this.#wakeAll();
    } catch {
      worker.healthy = false;
      worker.nextProbe = Date.now() + this.#options.probeIntervalMs;
    } finally {
      worker.probing = false;
    }
  }
}

/** Resolves with the first fulfilled attempt; rejects with the last error when all have failed. */
function firstSuccess<T>(attempts: Promise<T>[], hedge: Promise<void> | null): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = 0;
    let done = false;
    let hedgeDone = hedge === null;
    let lastError: unknown = null;
    const watch = (p: Promise<T>) =>
      p.then(
        (value) => {
          if (!done) {
            done = true;
            resolve(value);
          }
        },
        (error) => {
          settled++;
          lastError = error;
          // A non-retriable failure decides at once; otherwise wait for any hedge still running.
          if (!done && (error instanceof RequestFailure && !error.retriable || (hedgeDone && settled === attempts.length))) {
            done = true;
            reject(error);
          }
        },
      );
    watch(attempts[0]);
    hedge?.then(() => {
      hedgeDone = true;
      for (const p of attempts.slice(1)) watch(p);
      if (!done && settled === attempts.length) {
        done = true;
        reject(lastError);
      }
    });
  });
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
