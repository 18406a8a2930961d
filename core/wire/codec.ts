/**
 * The wire and checkpoint codec: MessagePack through msgpackr, with typed arrays carried as
 * typed-array extensions (`moreTypes`), so a Float32Array decodes as a Float32Array (not as
 * bytes) in Node, Deno, workerd and browsers alike.
 */
import { Packr } from "msgpackr";

const packr = new Packr({ moreTypes: true, useRecords: false, mapsAsObjects: true });

/** Encodes a value. The returned bytes may share memory with msgpackr's buffer: copy to keep. */
export function encode(value: unknown): Uint8Array {
  return packr.pack(value);
}

/** Decodes bytes produced by {@link encode}. Typed arrays come back aligned and of their type. */
export function decode(bytes: Uint8Array): unknown {
  return packr.unpack(bytes);
}
