/**
 * One send of a shard: a signed MessagePack POST to one worker, its reply decoded, and a failure
 * told as a RequestFailure for the retry loop (retry.ts); a retriable one is a strike against the worker.
 */
import { type HttpTransport, ReplyTooLarge, type TransportReply } from "./http-transport.ts";
import { errorMessage, RequestFailure } from "./request-failure.ts";
import type { RequestSigner } from "./request-signer.ts";
import type { WorkerRegistry, WorkerState } from "./worker-registry.ts";

/** One shard's request, as every send of it goes out. */
export interface ShardRequest<R> {
  readonly path: string;
  readonly body: Uint8Array;
  readonly digest: string | null;
  readonly decodeReply: (bytes: Uint8Array) => R;
  readonly timeoutMs: number;
  /** The pass's traffic, counted here at every send (DESIGN.md, "communication"). */
  readonly traffic: TrafficCount;
}

/** A pass's traffic as its sends add to it. */
export interface TrafficCount {
  requests: number;
  bytesSent: number;
  bytesReceived: number;
}

/** What a successful send brings back. */
export interface Sent<R> {
  readonly reply: R;
  readonly worker: WorkerState;
  readonly roundTripMs: number;
  readonly decodeMs: number;
}

export interface ShardSenderOptions {
  readonly transport: HttpTransport;
  /** Null: the pool has no secret and requests go unsigned. */
  readonly signer: RequestSigner | null;
  /** Told of every answer and failure, for the workers' health. */
  readonly registry: WorkerRegistry;
}

export class ShardSender {
  readonly #transport: HttpTransport;
  readonly #signer: RequestSigner | null;
  readonly #registry: WorkerRegistry;

  constructor(options: ShardSenderOptions) {
    this.#transport = options.transport;
    this.#signer = options.signer;
    this.#registry = options.registry;
  }

  /** Sends `request` to `worker`; rejects with a RequestFailure, or with the abort when `signal` aborts. */
  async send<R>(worker: WorkerState, request: ShardRequest<R>, options: { readonly signal: AbortSignal }): Promise<Sent<R>> {
    const { path, body, digest, decodeReply, timeoutMs, traffic } = request;
    const { signal } = options;
    const headers: Record<string, string> = { "content-type": "application/x-msgpack" };
    // A fresh nonce per send: a retry to the same worker within the second never repeats a signature.
    if (this.#signer && digest !== null) Object.assign(headers, this.#signer.headers({ method: "POST", path, digest }));
    const timeout = AbortSignal.timeout(timeoutMs);
    const t0 = performance.now();
    let response: TransportReply;
    // The body counts once handed to the transport, whatever becomes of the send; a reply once read whole.
    traffic.requests++;
    traffic.bytesSent += body.byteLength;
    try {
      response = await this.#transport.request(worker.url + path, { method: "POST", headers, body, signal: AbortSignal.any([signal, timeout]) });
    } catch (error) {
      if (signal.aborted) throw error;
      let failure: RequestFailure;
      if (error instanceof ReplyTooLarge) failure = new RequestFailure(`unreadable reply: ${error.message}`, true, "bad_reply", worker.url);
      else if (timeout.aborted) failure = new RequestFailure(`timed out after ${timeoutMs} ms`, true, "timeout", worker.url);
      else failure = new RequestFailure(`request failed: ${(error as Error).message}`, true, "network", worker.url);
      this.#registry.failed(worker, failure.message);
      throw failure;
    }
    const roundTripMs = performance.now() - t0;
    traffic.bytesReceived += response.bytes.byteLength;
    const t1 = performance.now();
    let reply: R;
    try {
      if (response.status !== 200) {
        const message = errorMessage(response.bytes, response.status);
        if (response.status >= 400 && response.status < 500) {
          throw new RequestFailure(message, false, response.status === 401 ? "unauthorized" : "bad_request", worker.url);
        }
        this.#registry.failed(worker, message);
        throw new RequestFailure(message, true, "server_error", worker.url);
      }
      try {
        reply = decodeReply(response.bytes);
      } catch (error) {
        const message = `unreadable reply: ${(error as Error).message}`;
        this.#registry.failed(worker, message);
        throw new RequestFailure(message, true, "bad_reply", worker.url);
      }
    } finally {
      // The decoded reply holds copies of its tensors: the bytes can be reused.
      response.release();
    }
    this.#registry.answered(worker, roundTripMs);
    return { reply, worker, roundTripMs, decodeMs: performance.now() - t1 };
  }
}
