/** How a request to a worker failed: what the retry loop and the health check read from a failure. */
import type { ErrorBody } from "../../core/wire/messages.ts";

/** A failed send of a shard; `retriable` is false for a 4xx (the request itself is wrong). */
export class RequestFailure extends Error {
  /** `worker`: the URL of the worker that failed. */
  constructor(message: string, readonly retriable: boolean, readonly code: string, readonly worker: string) {
    super(message);
  }
}

/** A worker's error reply as one line: its status and, when the body is an ErrorBody, its code and message. */
export function errorMessage(bytes: Uint8Array, status: number): string {
  try {
    const body = JSON.parse(new TextDecoder().decode(bytes)) as ErrorBody;
    return `HTTP ${status} ${body.error.code}: ${body.error.message}`;
  } catch {
    return `HTTP ${status}`;
  }
}
