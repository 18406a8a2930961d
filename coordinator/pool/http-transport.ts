/**
 * The HTTP client of the worker pool: node:http(s) on keep-alive connections, replies read into
 * reused buffers. Measured on the 2-core reference VM (bench/RESULTS.md, worker-roundtrip), for a
 * 1.75 MB request and a 0.97 MB reply: Node's fetch (undici) costs ~2 ms more per round trip
 * than node:http, and reading a reply into fresh memory costs a page fault per 4 KiB (~0.25 ms
 * per MB here), so a training step paid both on every shard. Deno runs the same code through its
 * node:http layer (a little faster than its fetch at these sizes).
 *
 * A reply's bytes live in a pooled buffer until `release()`: callers decode them (the codec
 * copies every tensor out) and then release, so the next reply reuses the memory.
 */
import http from "node:http";
import https from "node:https";
import { BufferPool } from "./buffer-pool.ts";

export interface TransportRequest {
  readonly method: "GET" | "POST";
  readonly headers: Readonly<Record<string, string>>;
  /** Not read any more once the returned promise settles: the caller may then reuse its memory. */
  readonly body?: Uint8Array;
  readonly signal: AbortSignal;
}

export interface TransportReply {
  readonly status: number;
  /** The body; valid until `release()`. */
  readonly bytes: Uint8Array;
  /** Returns the body's memory to the pool; `bytes` must not be used afterwards. */
  release(): void;
}

/** A reply larger than the transport accepts (a broken or hostile worker). */
export class ReplyTooLarge extends Error {}

export interface HttpTransportOptions {
  /** Largest reply body accepted, in bytes (default 256 MiB). */
  readonly maxReplyBytes?: number;
}

export const DEFAULT_MAX_REPLY_BYTES = 256 * 2 ** 20;

export class HttpTransport {
  readonly #agents = {
    "http:": new http.Agent({ keepAlive: true }),
    "https:": new https.Agent({ keepAlive: true }),
  };
  readonly #buffers = new BufferPool({ buffers: 8 });
  readonly #maxReplyBytes: number;

  constructor(options: HttpTransportOptions = {}) {
    this.#maxReplyBytes = options.maxReplyBytes ?? DEFAULT_MAX_REPLY_BYTES;
  }

  /** Sends one request; rejects on a network error, an abort or a reply over the size limit. */
  request(url: string, init: TransportRequest): Promise<TransportReply> {
    const target = new URL(url);
    const protocol = target.protocol;
    if (protocol !== "http:" && protocol !== "https:") return Promise.reject(new TypeError(`Unsupported worker URL ${url}: use http: or https:`));
    const send = protocol === "https:" ? https.request : http.request;
    const headers: Record<string, string> = { ...init.headers };
    if (init.body) headers["content-length"] = String(init.body.length);
    return new Promise<TransportReply>((resolve, reject) => {
      if (init.signal.aborted) return reject(init.signal.reason);
      let buffer: Uint8Array | null = null;
      let settled = false;
      const fail = (error: unknown) => {
        if (settled) return;
        settled = true;
        init.signal.removeEventListener("abort", onAbort);
        if (buffer) this.#buffers.release(buffer);
        buffer = null;
        request.destroy();
        reject(error);
      };
      const onAbort = () => fail(init.signal.reason);
      const request = send(target, { method: init.method, headers, agent: this.#agents[protocol] }, (response) => {
        const declared = Number(response.headers["content-length"]);
        const expected = Number.isSafeInteger(declared) && declared >= 0 ? declared : null;
        if (expected !== null && expected > this.#maxReplyBytes) return fail(new ReplyTooLarge(`reply of ${expected} bytes is over the limit of ${this.#maxReplyBytes}`));
        buffer = this.#buffers.acquire(expected ?? 64 * 1024);
        let size = 0;
        response.on("data", (chunk: Buffer) => {
          if (settled || buffer === null) return;
          if (size + chunk.length > buffer.length) {
            if (size + chunk.length > this.#maxReplyBytes) return fail(new ReplyTooLarge(`reply is over the limit of ${this.#maxReplyBytes} bytes`));
            const grown = this.#buffers.acquire(Math.max(size + chunk.length, 2 * buffer.length));
            grown.set(buffer.subarray(0, size));
            this.#buffers.release(buffer);
            buffer = grown;
          }
          buffer.set(chunk, size);
          size += chunk.length;
        });
        response.on("error", fail);
        response.on("aborted", () => fail(new Error("the worker closed the connection before the reply was complete")));
        response.on("end", () => {
          if (settled || buffer === null) return;
          if (expected !== null && size !== expected) return fail(new Error(`reply has ${size} bytes but Content-Length says ${expected}`));
          settled = true;
          init.signal.removeEventListener("abort", onAbort);
          // A worker may answer (401, 413) before it has read the whole body; the rest must not
          // be sent from memory the caller reuses once this promise settles.
          if (!request.writableFinished) request.destroy();
          const own = buffer;
          let released = false;
          resolve({
            status: response.statusCode ?? 0,
            bytes: own.subarray(0, size),
            release: () => {
              if (!released) this.#buffers.release(own);
              released = true;
            },
          });
        });
      });
      init.signal.addEventListener("abort", onAbort, { once: true });
      request.setNoDelay(true);
      request.on("error", fail);
      request.end(init.body);
    });
  }

  /** Closes every connection, idle or busy (requests in flight fail). */
  close(): void {
    for (const agent of Object.values(this.#agents)) agent.destroy();
  }
}
