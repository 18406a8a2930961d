/**
 * Reads a request body with a size limit enforced while reading: a declared Content-Length over
 * the limit is refused before any byte is read (the server's HTTP framing then delivers exactly the
 * declared bytes), and a body streamed without one (chunked) is cut off as soon as it passes the
 * limit. So a server never buffers more than `maxBytes` of a request, whatever the client sends
 * (Hono's bodyLimit does the same, but hands the body on as a new Request and the handler would
 * copy it once more).
 */
import { HttpError } from "./http-error.ts";

function tooLarge(maxBytes: number, size: string, hint: string): HttpError {
  return new HttpError(413, "payload_too_large", `Request body is ${size}, more than the limit of ${maxBytes} bytes${hint}`);
}

/**
 * The body's bytes (a fresh buffer the caller owns). Throws HttpError 413 over the limit (its
 * message ends with `hint`, e.g. what to do instead), 400 when unreadable.
 */
export async function readBody(request: Request, maxBytes: number, hint = ""): Promise<Uint8Array> {
  const declared = request.headers.get("content-length");
  let expected: number | undefined;
  if (declared !== null) {
    expected = Number(declared);
    if (!/^[0-9]{1,16}$/.test(declared) || !Number.isSafeInteger(expected)) {
      throw new HttpError(400, "invalid_body", `Content-Length must be a byte count, current value is ${JSON.stringify(declared.slice(0, 20))}`);
    }
    if (expected > maxBytes) throw tooLarge(maxBytes, `${expected} bytes`, hint);
  }
  // With a declared length the HTTP server's framing delivers exactly that many bytes, so the
  // runtime may read the body in one piece (one allocation, no per-chunk copies in JS). This
  // comes before any use of `request.body`: on Node, @hono/node-server reads a body straight from
  // the socket's buffers only while `body` has not been touched (otherwise through a web stream,
  // about five times slower: bench/RESULTS.md, "Code comments' measurements").
  if (expected !== undefined) return readDeclared(request, expected);
  if (request.body === null) return new Uint8Array(0);
  const reader = request.body.getReader();
  let buffer = new Uint8Array(Math.min(maxBytes, 64 * 1024));
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (size + value.length > maxBytes) {
        await reader.cancel().catch(() => {});
        throw tooLarge(maxBytes, `more than ${size + value.length} bytes`, hint);
      }
      if (size + value.length > buffer.length) {
        const grown = new Uint8Array(Math.min(maxBytes, Math.max(size + value.length, buffer.length * 2)));
        grown.set(buffer.subarray(0, size));
        buffer = grown;
      }
      buffer.set(value, size);
      size += value.length;
    }
  } catch (error) {
    if (error instanceof HttpError) throw error;
    throw new HttpError(400, "invalid_body", `Cannot read the request body: ${(error as Error).message}`);
  } finally {
    reader.releaseLock();
  }
  return size === buffer.length ? buffer : buffer.subarray(0, size);
}

async function readDeclared(request: Request, expected: number): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await request.arrayBuffer());
  } catch (error) {
    throw new HttpError(400, "invalid_body", `Cannot read the request body: ${(error as Error).message}`);
  }
  if (bytes.length !== expected) {
    throw new HttpError(400, "invalid_body", `Request body has ${bytes.length} bytes but Content-Length says ${expected}`);
  }
  return bytes;
}
