/**
 * Request signing between the coordinator and edge functions (DESIGN.md, "Auth"): HMAC-SHA256 with
 * Web Crypto (the same code in Node, Deno, workerd and browsers) and a shared secret.
 *
 * Canonical string (UTF-8, fields joined by "\n", no trailing newline):
 *
 *     EDGEPROP-HMAC-SHA256
 *     <METHOD>        upper case, e.g. POST
 *     <path>          URL pathname plus query string exactly as requested, e.g. /v1/gradients
 *     <timestamp>     Unix time in whole seconds, decimal, the `x-edgeprop-timestamp` header
 *     <body digest>   lower-case hex SHA-256 of the body bytes (of the empty string for no body)
 *     <nonce>         only when the request has an `x-edgeprop-nonce` header: its value, 32
 *                     lower-case hex digits (16 random bytes)
 *
 * `x-edgeprop-signature` = lower-case hex HMAC-SHA256(key = UTF-8 bytes of the secret, canonical).
 * A verifier recomputes it and compares in constant time, and rejects a timestamp more than 60 s
 * from its clock. The first line names the scheme so that a signature can never be confused with
 * another HMAC made with the same secret. A body or path changed in transit fails the signature.
 *
 * The timestamp has whole seconds, so without a nonce two sends of the same body to the same path
 * within a second (a retry) carry the same signature; the nonce makes every send's signature
 * unique, which lets a worker refuse a signature it has seen before (edge-functions/replay-cache.ts).
 * The coordinator signs every request with a fresh nonce. A request without the header verifies as
 * before (five lines), so older clients still work; workers older than the nonce verify five lines
 * whatever the headers say, and therefore reject a request that has one ("signature does not match").
 */

export const TIMESTAMP_HEADER = "x-edgeprop-timestamp";
export const SIGNATURE_HEADER = "x-edgeprop-signature";
export const NONCE_HEADER = "x-edgeprop-nonce";
/** Largest accepted difference between the request's timestamp and the verifier's clock. */
export const SIGNATURE_WINDOW_SECONDS = 60;
const SCHEME = "EDGEPROP-HMAC-SHA256";
const encoder = new TextEncoder();

/** A secret as text, or a key made by {@link importSigningKey} (import once, sign many). */
export type SigningSecret = string | CryptoKey;

/** Imports a shared secret as an HMAC-SHA256 key for signing and verifying. */
export function importSigningKey(secret: string): Promise<CryptoKey> {
  if (typeof secret !== "string" || secret.length === 0) {
    throw new TypeError("Cannot import signing key: the secret must be a non-empty string");
  }
  return crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
}

function hex(bytes: ArrayBuffer): string {
  const view = new Uint8Array(bytes);
  let out = "";
  for (let i = 0; i < view.length; i++) out += view[i].toString(16).padStart(2, "0");
  return out;
}

/** Lower-case hex SHA-256 of `body`. */
export async function bodyDigest(body: Uint8Array): Promise<string> {
  return hex(await crypto.subtle.digest("SHA-256", body as Uint8Array<ArrayBuffer>));
}

/** The canonical string that is signed (exported for tests and other implementations). */
export function canonicalString(method: string, path: string, timestamp: string, digest: string, nonce?: string): string {
  const base = `${SCHEME}\n${method.toUpperCase()}\n${path}\n${timestamp}\n${digest}`;
  return nonce === undefined ? base : `${base}\n${nonce}`;
}

/** A fresh nonce: 16 random bytes as 32 lower-case hex digits. */
export function newNonce(): string {
  return hex(crypto.getRandomValues(new Uint8Array(16)).buffer);
}

async function keyOf(secret: SigningSecret): Promise<CryptoKey> {
  return typeof secret === "string" ? importSigningKey(secret) : secret;
}

async function hmacHex(key: CryptoKey, text: string): Promise<string> {
  return hex(await crypto.subtle.sign("HMAC", key, encoder.encode(text)));
}

export interface SignInput {
  readonly method: string;
  /** Pathname plus query string, e.g. `/v1/gradients`. */
  readonly path: string;
  readonly body: Uint8Array;
  /** Unix time in milliseconds (default Date.now()); tests pass a fixed clock. */
  readonly now?: number;
  /** A digest of `body` computed earlier (lower-case hex SHA-256), to avoid hashing twice. */
  readonly digest?: string;
  /** Signed and sent as `x-edgeprop-nonce` when given ({@link newNonce}): makes the signature unique. */
  readonly nonce?: string;
}

/** The two headers that authenticate a request. */
export interface SignatureHeaders {
  readonly [TIMESTAMP_HEADER]: string;
  readonly [SIGNATURE_HEADER]: string;
  readonly [NONCE_HEADER]?: string;
}

/** The `x-edgeprop-timestamp` value: Unix seconds, decimal. */
function timestampOf(now: number = Date.now()): string {
  return String(Math.floor(now / 1000));
}

/** Signs a request: returns the headers to send with it. */
export async function signRequest(secret: SigningSecret, input: SignInput): Promise<SignatureHeaders> {
  const timestamp = timestampOf(input.now);
  const [key, digest] = await Promise.all([keyOf(secret), input.digest ?? bodyDigest(input.body)]);
  const signature = await hmacHex(key, canonicalString(input.method, input.path, timestamp, digest, input.nonce));
  return headersOf(timestamp, signature, input.nonce);
}

function headersOf(timestamp: string, signature: string, nonce: string | undefined): SignatureHeaders {
  const headers = { [TIMESTAMP_HEADER]: timestamp, [SIGNATURE_HEADER]: signature };
  return nonce === undefined ? headers : { ...headers, [NONCE_HEADER]: nonce };
}

/**
 * Signs a request with a synchronous HMAC-SHA256 of the canonical string (lower-case hex; e.g.
 * node:crypto's `createHmac("sha256", secret)`), given the body's digest: for a caller that must
 * not yield between encoding a request and sending it (Web Crypto's HMAC is a round trip to a
 * thread pool). The headers are the same as signRequest's.
 */
export function signRequestWith(hmac: (canonical: string) => string, input: Omit<SignInput, "body"> & { readonly digest: string }): SignatureHeaders {
  const timestamp = timestampOf(input.now);
  const signature = hmac(canonicalString(input.method, input.path, timestamp, input.digest, input.nonce));
  return headersOf(timestamp, signature, input.nonce);
}

export interface VerifyInput extends SignInput {
  /** Request headers (a Headers object or anything with `get`). */
  readonly headers: { get(name: string): string | null };
}

export type VerifyResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** Compares two strings in time that depends only on their lengths (hex signatures have one). */
export function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/**
 * The checks that need no body: both headers present and well formed, timestamp within the window.
 * Returns the reason to reject, or null. A worker runs it before reading the body, so an
 * unauthenticated client cannot make it read (or hash) a large one.
 */
export function precheckSignature(headers: { get(name: string): string | null }, now: number = Date.now()): string | null {
  const timestamp = headers.get(TIMESTAMP_HEADER);
  const signature = headers.get(SIGNATURE_HEADER);
  if (timestamp === null || signature === null) return `missing ${timestamp === null ? TIMESTAMP_HEADER : SIGNATURE_HEADER} header`;
  if (!/^[0-9]{1,12}$/.test(timestamp)) return `malformed ${TIMESTAMP_HEADER} header (Unix seconds expected)`;
  if (!/^[0-9a-f]{64}$/.test(signature)) return `malformed ${SIGNATURE_HEADER} header (64 lower-case hex digits expected)`;
  const nonce = headers.get(NONCE_HEADER);
  if (nonce !== null && !/^[0-9a-f]{32}$/.test(nonce)) return `malformed ${NONCE_HEADER} header (32 lower-case hex digits expected)`;
  const skew = Number(timestamp) - now / 1000;
  if (Math.abs(skew) > SIGNATURE_WINDOW_SECONDS) {
    return `timestamp is ${Math.round(Math.abs(skew))} s ${skew < 0 ? "old" : "in the future"}, outside the ±${SIGNATURE_WINDOW_SECONDS} s window (check the clocks)`;
  }
  return null;
}

/**
 * Verifies a signed request. Never throws for a bad request: returns `{ok: false, reason}` for a
 * missing, malformed, expired or wrong signature (the reason says which, never what was expected).
 */
export async function verifyRequest(secret: SigningSecret, input: VerifyInput): Promise<VerifyResult> {
  const problem = precheckSignature(input.headers, input.now);
  if (problem !== null) return { ok: false, reason: problem };
  const timestamp = input.headers.get(TIMESTAMP_HEADER)!;
  const signature = input.headers.get(SIGNATURE_HEADER)!;
  const [key, digest] = await Promise.all([keyOf(secret), input.digest ?? bodyDigest(input.body)]);
  const nonce = input.headers.get(NONCE_HEADER) ?? undefined;
  const expected = await hmacHex(key, canonicalString(input.method, input.path, timestamp, digest, nonce));
  return constantTimeEqual(expected, signature) ? { ok: true } : { ok: false, reason: "signature does not match" };
}
