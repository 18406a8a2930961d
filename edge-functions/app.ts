/**
 * The edge function: one Hono app, the same on every runtime (entry/ holds one short file per
 * runtime). Stateless: a request carries everything it needs (model, parameters, shard) and no
 * request depends on an earlier one.
 *
 * Endpoints (DESIGN.md): POST /v1/gradients, POST /v1/evaluate, POST /v1/rounds (MessagePack in
 * and out), GET /v1/health (JSON). Errors are JSON `{error: {code, message, field?}}` from one onError handler:
 * 400 for a request that does not decode or validate (naming the field), 401 for a missing, wrong
 * or expired signature, 404/405 for other routes, 409 for a backend the runtime lacks, 413 for a
 * body over the limit, 503 when the worker already holds `maxInFlight` requests, 500 only for a
 * failure of the worker itself.
 *
 * A signed request is processed in this order: signature headers (present, well formed, within
 * ±60 s) before the body is read, so an unauthenticated client cannot make the worker read a
 * large body; then the body is read under the size limit; the body digest and HMAC run in Web
 * Crypto (off the main thread in Node and Deno) while the body is decoded and validated, and both
 * must succeed before anything is computed; a signature this isolate has served before is a 401
 * `replayed` (replay-cache.ts). A signed GET /v1/health is verified the same way and says so
 * (`authenticated`), so the coordinator's probe detects a wrong secret. Compute goes through one
 * queue per isolate (the tfjs backend is process-global, see serial-queue.ts).
 */
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { WorkerLimits } from "../core/limits.ts";
import { computeCheckedRound } from "../core/round.ts";
import { computeCheckedGradients, evaluateChecked } from "../core/shard.ts";
import { availableBackends, tf, useBackend, type BackendName } from "../core/tf.ts";
import { PROTOCOL, type HealthResponse, type Timing } from "../core/wire/messages.ts";
import { decodeEvaluateRequest, decodeGradientsRequest, decodeRoundRequest } from "../core/wire/request-check.ts";
import {
  bodyDigest,
  importSigningKey,
  precheckSignature,
  SIGNATURE_HEADER,
  SIGNATURE_WINDOW_SECONDS,
  TIMESTAMP_HEADER,
  verifyRequest,
  type VerifyResult,
} from "../core/wire/signing.ts";
import type { DecodeArena } from "../core/wire/codec.ts";
import { ArenaPool } from "./arena-pool.ts";
import { encodeReply } from "./encode-reply.ts";
import { HttpError } from "../core/http/http-error.ts";
import { ValidationError } from "../core/validation-error.ts";
import { oneChunkStream } from "../core/http/one-chunk-stream.ts";
import { readBody } from "../core/http/read-body.ts";
import { ReplayCache } from "./replay-cache.ts";
import { SerialQueue } from "./serial-queue.ts";
import { VERSION } from "./version.ts";
import { resolveLimits } from "./worker-limits.ts";

/** Shortest accepted shared secret: an HMAC key should not be guessable. */
export const MIN_SECRET_LENGTH = 16;

export interface WorkerOptions {
  /** Name reported by /v1/health: `deno`, `node`, `workerd`, ... */
  readonly runtime: string;
  /** Shared secret of the HMAC signatures (EDGEPROP_WORKER_SECRET). */
  readonly secret?: string;
  /** Accept unsigned requests when no secret is set (EDGEPROP_INSECURE=1, local development only). */
  readonly insecure?: boolean;
  /** Overrides of DEFAULT_WORKER_LIMITS. */
  readonly limits?: Partial<WorkerLimits>;
  /** Backend used when a request names none (default `wasm`). */
  readonly backend?: BackendName;
  /** Wall clock in milliseconds for the signature window (default Date.now); tests fix it. */
  readonly now?: () => number;
}

/**
 * Creates the worker app. Throws (so the process does not start) when no secret is configured and
 * `insecure` is not set, when the secret is shorter than 16 characters, or when a limit is invalid.
 */
export function createApp(options: WorkerOptions): Hono {
  const secret = options.secret ?? "";
  if (secret === "" && !options.insecure) {
    throw new Error(
      "Cannot start worker: EDGEPROP_WORKER_SECRET is not set. Set it to the secret shared with the coordinator " +
        `(at least ${MIN_SECRET_LENGTH} characters), or set EDGEPROP_INSECURE=1 to accept unsigned requests (local development only).`,
    );
  }
  if (secret !== "" && secret.length < MIN_SECRET_LENGTH) {
    throw new RangeError(`Cannot start worker: EDGEPROP_WORKER_SECRET must have at least ${MIN_SECRET_LENGTH} characters, current length is ${secret.length}`);
  }
  const limits = resolveLimits(options.limits);
  const defaultBackend = options.backend ?? "wasm";
  const runtime = options.runtime;
  const clock = options.now ?? Date.now;
  const queue = new SerialQueue();
  const arenas = new ArenaPool();
  // Imported on first use: some runtimes (workerd) allow no async work while a module loads.
  let key: Promise<CryptoKey> | undefined;
  let inFlight = 0;
  const replays = new ReplayCache();

  /** Starts hashing the body at once (before the first await), so it overlaps with decoding. */
  async function authenticate(request: Request, body: Uint8Array): Promise<VerifyResult> {
    if (secret === "") return { ok: true };
    const digest = bodyDigest(body);
    key ??= importSigningKey(secret);
    const url = new URL(request.url);
    const input = { method: request.method, path: url.pathname + url.search, body, headers: request.headers, now: clock() };
    return verifyRequest(await key, { ...input, digest: await digest });
  }

  /** The checks of a signed request that need no body: headers well formed, in the window, not a replay. */
  function precheck(headers: Headers): void {
    const now = clock();
    const problem = precheckSignature(headers, now);
    if (problem !== null) throw new HttpError(401, "unauthorized", `Request rejected: ${problem}`);
    if (replays.has(headers.get(SIGNATURE_HEADER)!, now)) throw replayed();
  }

  /** Records a verified signature until its timestamp leaves the window; a 401 when it was seen before. */
  function acceptOnce(headers: Headers): void {
    const until = (Number(headers.get(TIMESTAMP_HEADER)) + SIGNATURE_WINDOW_SECONDS) * 1000;
    if (!replays.accept(headers.get(SIGNATURE_HEADER)!, until, clock())) throw replayed();
  }

  /**
   * A signed health check proves the caller's secret: true when its signature verifies (401 when it
   * does not). False when unsigned (probes and load balancers read health unsigned) or insecure.
   */
  async function healthAuthenticated(request: Request): Promise<boolean> {
    if (secret === "" || (request.headers.get(SIGNATURE_HEADER) === null && request.headers.get(TIMESTAMP_HEADER) === null)) return false;
    precheck(request.headers);
    const verdict = await authenticate(request, new Uint8Array(0));
    if (!verdict.ok) throw new HttpError(401, "unauthorized", `Request rejected: ${verdict.reason}`);
    acceptOnce(request.headers);
    return true;
  }

  async function checkBackend(requested: BackendName | undefined): Promise<BackendName> {
    const name = requested ?? defaultBackend;
    const available = await availableBackends();
    if (!available.includes(name)) {
      throw new HttpError(
        requested ? 409 : 500,
        requested ? "backend_unavailable" : "backend_failed",
        `'backend' is '${name}', which this worker (runtime ${runtime}) does not have; it has ${available.length ? available.map((b) => `'${b}'`).join(", ") : "none"}`,
        requested ? { field: "backend" } : {},
      );
    }
    return name;
  }

  async function activate(name: BackendName, requested: boolean): Promise<void> {
    try {
      await useBackend(name);
    } catch (error) {
      throw new HttpError(requested ? 409 : 500, requested ? "backend_unavailable" : "backend_failed", (error as Error).message, requested ? { field: "backend" } : {});
    }
  }

  /** The common path of the two compute endpoints. */
  async function serve<P extends { request: { backend?: BackendName } }>(
    request: Request,
    decode: (bytes: Uint8Array, arena: DecodeArena) => P,
    compute: (planned: P) => Promise<object>,
  ): Promise<Response> {
    if (inFlight >= limits.maxInFlight) {
      throw new HttpError(503, "overloaded", `The worker is already handling ${inFlight} requests (limits.maxInFlight); retry later or on another worker`, { headers: { "retry-after": "1" } });
    }
    inFlight++;
    // The request's tensors live in this arena until the reply is encoded (the engine is done).
    const arena = arenas.acquire();
    try {
      const t0 = performance.now();
      if (secret !== "") precheck(request.headers);
      const body = await readBody(request, limits.maxBodyBytes, " (limits.maxBodyBytes in GET /v1/health): send fewer examples per shard");
      const t1 = performance.now();
      // Web Crypto copies the body synchronously before hashing it off the main thread (the spec
      // says so): that copy is signature time, not decode time.
      const pending = authenticate(request, body);
      const t1b = performance.now();
      let planned: P | undefined;
      let invalid: unknown;
      try {
        planned = decode(body, arena);
      } catch (error) {
        invalid = error;
      }
      const t2 = performance.now();
      const verdict = await pending;
      const t3 = performance.now();
      if (!verdict.ok) throw new HttpError(401, "unauthorized", `Request rejected: ${verdict.reason}`);
      if (secret !== "") acceptOnce(request.headers);
      if (invalid !== undefined || planned === undefined) throw invalid;
      const requested = planned.request.backend;
      const backend = await checkBackend(requested);
      const queued = performance.now();
      const done = await queue.run(async () => {
        const start = performance.now();
        await activate(backend, requested !== undefined);
        const result = await compute(planned);
        return { result, start, end: performance.now() };
      });
      const timing = {
        readMs: t1 - t0,
        verifyMs: t1b - t1 + (t3 - t2),
        decodeMs: t2 - t1b,
        queueMs: done.start - queued,
        computeMs: done.end - done.start,
      };
      const { bytes, encodeMs } = encodeReply({ protocol: PROTOCOL, backend, ...done.result }, timing);
      return new Response(oneChunkStream(bytes), {
        headers: {
          "content-type": "application/x-msgpack",
          "server-timing": serverTiming({ ...timing, encodeMs }),
        },
      });
    } finally {
      arenas.release(arena);
      inFlight--;
    }
  }

  const app = new Hono();

  app.post("/v1/gradients", (c) => serve(c.req.raw, (bytes, arena) => decodeGradientsRequest(bytes, limits, arena), computeCheckedGradients));
  app.post("/v1/evaluate", (c) => serve(c.req.raw, (bytes, arena) => decodeEvaluateRequest(bytes, limits, arena), evaluateChecked));
  app.post("/v1/rounds", (c) => serve(c.req.raw, (bytes, arena) => decodeRoundRequest(bytes, limits, arena), computeCheckedRound));
  app.get("/v1/health", async (c) => {
    const authenticated = await healthAuthenticated(c.req.raw);
    const backends = await availableBackends();
    const health: HealthResponse = {
      protocol: PROTOCOL,
      runtime,
      version: VERSION,
      backend: defaultBackend,
      backends,
      simd: backends.includes("wasm") && (await wasmSimd()),
      auth: secret === "" ? "none" : "hmac-sha256",
      authenticated,
      inputCodes: true,
      returnInnerState: true,
      limits: { ...limits },
    };
    return c.json(health);
  });
  for (const [path, allow] of [["/v1/gradients", "POST"], ["/v1/evaluate", "POST"], ["/v1/rounds", "POST"], ["/v1/health", "GET, HEAD"]] as const) {
    app.all(path, (c) => {
      throw new HttpError(405, "method_not_allowed", `${c.req.method} ${path} is not supported; use ${allow}`, { headers: { allow } });
    });
  }
  app.notFound((c) => {
    const error = new HttpError(404, "not_found", `No route ${c.req.method} ${c.req.path}; a worker serves POST /v1/gradients, POST /v1/evaluate, POST /v1/rounds and GET /v1/health`);
    return c.json(error.body(), 404);
  });
  app.onError((error, c) => {
    const http = toHttpError(error);
    // Overload (503) is expected under load; other 5xx are failures of the worker worth a log line.
    if (http.status >= 500 && http.status !== 503) console.error(`edgeprop worker: ${c.req.method} ${c.req.path} failed:`, error);
    return c.json(http.body(), http.status as ContentfulStatusCode, http.headers);
  });
  return app;
}

/** A 401 for a signature this isolate has already served (edge-functions/replay-cache.ts). */
function replayed(): HttpError {
  return new HttpError(401, "replayed", "Request rejected: this signature was already used (a replayed request); sign every request afresh, with a new x-edgeprop-nonce");
}

function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  // Every validator (wire schemas, model spec) throws a ValidationError; a TypeError is a defect (500).
  if (error instanceof ValidationError) return new HttpError(400, error.code, error.message, error.field === undefined ? {} : { field: error.field });
  if (error instanceof HTTPException && error.status < 500) {
    return new HttpError(error.status, "bad_request", error.message || "Bad request");
  }
  return new HttpError(500, "internal", `The worker failed: ${(error as Error)?.message ?? String(error)}`);
}

/** A Server-Timing header (readable in browser dev tools and by HTTP tooling). */
function serverTiming(timing: Timing): string {
  return Object.entries(timing).map(([name, ms]) => `${name.replace(/Ms$/, "")};dur=${ms.toFixed(2)}`).join(", ");
}

/** Whether the wasm backend runs WebAssembly SIMD (false where that cannot be determined). */
async function wasmSimd(): Promise<boolean> {
  try {
    return Boolean(await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT"));
  } catch {
    return false;
  }
}
