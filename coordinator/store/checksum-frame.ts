/**
 * The frame of every whole file the FileStore writes: one header line
 * `edgeprop-store/1 bytes=<payload length> sha256=<hex of the payload>\n`, then the payload. A file
 * torn, truncated, emptied or with a flipped bit no longer matches its header, so it is reported
 * instead of being parsed. Files written before the frame existed have no header; they are passed
 * on as they are (`legacy`) for the caller to check as well as it can.
 */
import { createHash } from "node:crypto";

const MAGIC = "edgeprop-store/";
const HEADER = /^edgeprop-store\/1 bytes=(0|[1-9][0-9]{0,15}) sha256=([0-9a-f]{64})$/;
/** Longest header line that can be valid (the regex's widest match), plus its newline. */
const MAX_HEADER = "edgeprop-store/1 bytes= sha256=".length + 16 + 64 + 1;

/** The header line and the payload, the parts of the file in order (not copied into one buffer: checkpoints are megabytes). */
export function frame(payload: Uint8Array): readonly Uint8Array[] {
  return [new TextEncoder().encode(`${MAGIC}1 bytes=${payload.length} sha256=${sha256(payload)}\n`), payload];
}

export type Unframed =
  | { readonly ok: true; readonly payload: Uint8Array; readonly legacy: boolean }
  | { readonly ok: false; readonly reason: string };

/** The payload of a framed file, a legacy file's bytes, or why the file is damaged. */
export function unframe(bytes: Uint8Array): Unframed {
  if (bytes.length === 0) return { ok: false, reason: "it is empty" };
  if (!startsWith(bytes, MAGIC)) return { ok: true, payload: bytes, legacy: true };
  const newline = bytes.subarray(0, MAX_HEADER).indexOf(0x0a);
  const match = newline < 0 ? null : HEADER.exec(new TextDecoder().decode(bytes.subarray(0, newline)));
  if (!match) return { ok: false, reason: "its header line is cut or garbled" };
  const payload = bytes.subarray(newline + 1);
  const expected = Number(match[1]);
  if (payload.length !== expected) return { ok: false, reason: `it holds ${payload.length} of its ${expected} bytes` };
  if (sha256(payload) !== match[2]) return { ok: false, reason: "its SHA-256 does not match (altered on disk)" };
  return { ok: true, payload, legacy: false };
}

/** A short checksum of one metrics line (the first 16 hex digits of its SHA-256). */
export function lineChecksum(line: string): string {
  return createHash("sha256").update(line).digest("hex").slice(0, 16);
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function startsWith(bytes: Uint8Array, prefix: string): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix.charCodeAt(i)) return false;
  return true;
}
