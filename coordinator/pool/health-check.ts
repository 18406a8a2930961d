/**
 * A worker's health check, `GET /v1/health`, signed when the pool has a secret: the worker
 * verifies the signature, so a worker with another secret (it answers 401) fails its check with
 * the reason, rather than passing it and then refusing every request.
 */
import { type HealthResponse, parseHealth } from "../../core/wire/messages.ts";
import type { HttpTransport, TransportReply } from "./http-transport.ts";
import { errorMessage } from "./request-failure.ts";
import type { RequestSigner } from "./request-signer.ts";

/** SHA-256 of the empty body, the digest a signed GET covers. */
const EMPTY_DIGEST = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

export interface HealthCheckOptions {
  readonly transport: HttpTransport;
  /** Null: the pool has no secret and the check goes unsigned. */
  readonly signer: RequestSigner | null;
  /** The pool's request timeout; a check waits at most 5 s of it. */
  readonly timeoutMs: number;
}

/** The worker's health; rejects with a message saying why the worker is unhealthy. */
export async function checkHealth(url: string, options: HealthCheckOptions): Promise<HealthResponse> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (options.signer) Object.assign(headers, options.signer.headers({ method: "GET", path: "/v1/health", digest: EMPTY_DIGEST }));
  const timeoutMs = Math.min(options.timeoutMs, 5_000);
  let response: TransportReply;
  try {
    response = await options.transport.request(`${url}/v1/health`, { method: "GET", headers, signal: AbortSignal.timeout(timeoutMs) });
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
