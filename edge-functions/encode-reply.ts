/**
 * Encodes a reply and reports, inside it, how long encoding took. A message cannot contain the
 * time taken to encode itself, so the reply is encoded with `timing.encodeMs` as its very last
 * value, a float64 placeholder (MessagePack 0xcb + 8 big-endian bytes: msgpackr writes every
 * non-integer number as float64), and the measured time is written over those 8 bytes.
 */
import { encode } from "../core/wire/codec.ts";
import type { Timing } from "../core/wire/messages.ts";

const PLACEHOLDER = 0.5;

/** Encodes `{...reply, timing: {...timing, encodeMs}}`. The bytes may share msgpackr's buffer. */
export function encodeReply(reply: object, timing: Omit<Timing, "encodeMs">): { bytes: Uint8Array; encodeMs: number } {
  const start = performance.now();
  // `timing` must be the last key and `encodeMs` its last: drop any `timing` already in `reply`.
  const { timing: _ignored, ...rest } = reply as { timing?: unknown };
  const bytes = encode({ ...rest, timing: { ...timing, encodeMs: PLACEHOLDER } });
  const encodeMs = performance.now() - start;
  const at = bytes.length - 9;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (at < 0 || bytes[at] !== 0xcb || view.getFloat64(at + 1) !== PLACEHOLDER) {
    throw new Error("Cannot encode reply: timing.encodeMs is not the last float64 of the message");
  }
  view.setFloat64(at + 1, encodeMs);
  return { bytes, encodeMs };
}
