/**
 * A minimal signed client of the worker protocol, for tests and benchmarks: what the coordinator's
 * HTTP pool does per shard (encode, sign, POST, decode), without its retries. Works against a real
 * process (`fetch`) or an in-process app (`app.request`).
 */
import { encode } from "../../core/wire/codec.ts";
import { newNonce, signRequest, type SigningSecret } from "../../core/wire/signing.ts";

/** Anything that answers a Request: `fetch` or a Hono app's `request`. */
export type Send = (request: Request) => Promise<Response> | Response;

export interface PostOptions {
  /** Sign with this secret (string or imported key); unsigned when absent. */
  readonly secret?: SigningSecret;
  /** Clock for the timestamp, ms (default Date.now). */
  readonly now?: number;
  /** Extra or overriding headers. */
  readonly headers?: Record<string, string>;
}

/** A signed POST of raw bytes to `base + path`. */
export async function signedRequest(base: string, path: string, body: Uint8Array, options: PostOptions = {}): Promise<Request> {
  const headers: Record<string, string> = { "content-type": "application/x-msgpack" };
  if (options.secret !== undefined) {
    Object.assign(headers, await signRequest(options.secret, { method: "POST", path, body, now: options.now, nonce: newNonce() }));
  }
  Object.assign(headers, options.headers);
  return new Request(new URL(path, base), { method: "POST", headers, body: body as Uint8Array<ArrayBuffer> });
}

/** Encodes `message`, signs and sends it; returns the response (body unread). */
export async function postMessage(send: Send, base: string, path: string, message: unknown, options: PostOptions = {}): Promise<Response> {
  // Copy: encode's bytes may share msgpackr's buffer, which the next encode can reuse.
  const body = encode(message).slice();
  return send(await signedRequest(base, path, body, options));
}
