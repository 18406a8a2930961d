/**
 * Edge functions over HTTP: the pool users run. Each shard is one signed MessagePack request;
 * HttpPool composes these, one file each:
 * - worker-registry.ts: the workers and their health, probed with health-check.ts (signed, so a
 *   worker with another secret shows why in its status), and the strikes that take out a stalled one;
 * - slots.ts: requests in flight per worker, and the one FIFO queue of shards waiting for a slot;
 * - retry.ts: a shard's sends, with backoff and jitter, within a budget of `retries` + 1 sends;
 * - hedge.ts: a straggler sent again to an idle worker, the first answer winning;
 * - shard-send.ts: one send and its reply, signed by request-signer.ts, failures in request-failure.ts.
 * Per job, `forJob` gives a view of the same workers, slots and health with a job's own timeout
 * and retries (JobSpec.workers).
 */
import {
  decodeEvaluateResponse,
  decodeGradientsResponse,
  decodeRoundResponse,
  type Timing,
} from "../../core/wire/messages.ts";
import { BufferPool } from "./buffer-pool.ts";
import { checkHealth } from "./health-check.ts";
import { Hedge } from "./hedge.ts";
import { HttpTransport } from "./http-transport.ts";
import { RequestBodies } from "./request-bodies.ts";
import { RequestSigner } from "./request-signer.ts";
import { Retry } from "./retry.ts";
import { ShardSender } from "./shard-send.ts";
import { Slots } from "./slots.ts";
import { WorkerRegistry } from "./worker-registry.ts";
import type { EvaluateShardResult, GradientShardResult } from "../../core/shard.ts";
import type { RoundShardResult } from "../../core/round.ts";
import type { EvaluationTask, RoundTask, StepTask } from "../../core/work.ts";
import { type PassResult, passTiming, type PoolCapacity, type RequestPolicy, type RunOptions, type WorkerPool, type WorkerStatus } from "./worker-pool.ts";

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

export class HttpPool implements WorkerPool {
  readonly #registry: WorkerRegistry;
  readonly #slots: Slots;
  readonly #retry: Retry;
  /** The policy of requests sent without `forJob`. */
  readonly #policy: RequestPolicy;
  readonly #transport: HttpTransport;
  /** Request bodies in reused memory; the shards of a task share the encoding of its context. */
  readonly #bodies: RequestBodies;

  constructor(urls: readonly string[], options: HttpPoolOptions = {}) {
    if (urls.length === 0) throw new RangeError("Cannot create worker pool: 'urls' must name at least one worker");
    const timeoutMs = options.timeoutMs ?? 10_000;
    const concurrency = options.concurrency ?? 2;
    this.#policy = { timeoutMs, retries: options.retries ?? 3 };
    const transport = new HttpTransport({ maxReplyBytes: options.maxReplyBytes });
    const signer = options.secret ? new RequestSigner(options.secret) : null;
    const registry = new WorkerRegistry(urls, {
      unhealthyAfter: options.unhealthyAfter ?? 3,
      probeIntervalMs: options.probeIntervalMs ?? 2_000,
      checkHealth: (url) => checkHealth(url, { transport, signer, timeoutMs }),
      // Called from probes and strikes, which start after `slots` below exists.
      onHealthChange: () => slots.wakeAll(),
    });
    const slots = new Slots(registry.workers, { concurrency });
    const hedge = new Hedge({
      registry,
      slots,
      sender: new ShardSender({ transport, signer, registry }),
      hedgeMultiple: options.hedgeMultiple ?? 3,
      hedgeMinMs: options.hedgeMinMs ?? 200,
    });
    this.#registry = registry;
    this.#slots = slots;
    this.#retry = new Retry({ slots, hedge });
    this.#transport = transport;
    // One body per request in flight, and the shared fields of a few steps (of jobs sharing the pool).
    const buffers = new BufferPool({ buffers: urls.length * concurrency + 4 });
    this.#bodies = new RequestBodies(buffers, { signed: signer !== null });
  }

  /** Checks every worker's health; resolves when all have answered or failed. */
  start(): Promise<void> {
    return this.#registry.start();
  }

  close(): void {
    this.#registry.close();
    this.#slots.wakeAll();
    this.#transport.close();
  }

  capacity(): PoolCapacity {
    return this.#registry.capacity();
  }

  status(): readonly WorkerStatus[] {
    return this.#registry.status();
  }

  /** The same workers, slots and health, with a job's own timeout and retries. */
  forJob(policy: RequestPolicy): WorkerPool {
    return {
      capacity: () => this.capacity(),
      status: () => this.status(),
      runStep: (task, options) => this.#run("/v1/gradients", task, decodeGradientsResponse, options, policy),
      runEvaluation: (task, options) => this.#run("/v1/evaluate", task, decodeEvaluateResponse, options, policy),
      runRound: (task, options) => this.#run("/v1/rounds", task, decodeRoundResponse, options, policy),
      forJob: (other) => this.forJob(other),
    };
  }

  runStep(task: StepTask, options: RunOptions<GradientShardResult>): Promise<PassResult<GradientShardResult>> {
    return this.#run("/v1/gradients", task, decodeGradientsResponse, options, this.#policy);
  }

  runEvaluation(task: EvaluationTask, options: RunOptions<EvaluateShardResult>): Promise<PassResult<EvaluateShardResult>> {
    return this.#run("/v1/evaluate", task, decodeEvaluateResponse, options, this.#policy);
  }

  runRound(task: RoundTask, options: RunOptions<RoundShardResult>): Promise<PassResult<RoundShardResult>> {
    return this.#run("/v1/rounds", task, decodeRoundResponse, options, this.#policy);
  }

  /** Every shard of a task dispatched together; their bodies share the encoding of the task's context. */
  async #run<R extends { readonly timing: Timing }>(
    path: string,
    task: StepTask | EvaluationTask | RoundTask,
    decodeReply: (bytes: Uint8Array) => R,
    options: RunOptions<R>,
    policy: RequestPolicy,
  ): Promise<PassResult<R>> {
    const bodies = this.#bodies.open(task.context, task.shards);
    const traffic = { requests: 0, bytesSent: 0, bytesReceived: 0 };
    try {
      const outcomes = await Promise.all(task.shards.map(async (_, index) => {
        const outcome = await this.#retry.run({ path, decodeReply, prepared: () => bodies.prepare(index), traffic }, { signal: options.signal, policy });
        options.onOutcome?.(index, outcome);
        return outcome;
      }));
      // A hedge that lost its race may still be reading its reply: its bytes are left out (never received).
      return { outcomes, timing: passTiming(outcomes), traffic: { ...traffic } };
    } finally {
      // Every attempt has settled, and the transport reads no body after that.
      bodies.close();
    }
  }
}
