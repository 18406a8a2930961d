/**
 * The wire and checkpoint codec: MessagePack through msgpackr, with typed arrays carried as
 * typed-array extensions (`moreTypes`), so a Float32Array decodes as a Float32Array (not as
 * bytes) in Node, Deno, workerd and browsers alike.
 */
import { addExtension, Packr } from "msgpackr";

// copyBuffers: binary values decode as copies, never as views into the input, so a decoded message
// does not keep (or alias) the request body it came from.
const packr = new Packr({ moreTypes: true, useRecords: false, mapsAsObjects: true, copyBuffers: true });

/** msgpackr's extension type of typed arrays, and its element-type codes. */
const TYPED_ARRAY_EXTENSION = 0x74;
const TYPED_ARRAYS = [
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array,
] as const;

/**
 * Decodes a typed-array extension into a fresh, aligned array of its type: the same result as
 * msgpackr's own handler, which slices the bytes and wraps the slice, but copying into an array
 * allocated with its element type is ~4× faster in Deno for megabyte tensors (1.0 → 0.25 ms for
 * 1.75 MB), which was most of a worker's decode time. Replaces the handler process-wide; the
 * result is identical, so other users of msgpackr see no difference.
 */
function unpackTypedArray(data: Uint8Array): unknown {
  const code = data[0];
  const bytes = data.subarray(1);
  if (code === 16) return bytes.slice().buffer;
  if (code === 17) return new DataView(bytes.slice().buffer);
  const Type = TYPED_ARRAYS[code];
  if (Type === undefined) throw new Error(`Could not find typed array for code ${code}`);
  if (bytes.length % Type.BYTES_PER_ELEMENT !== 0) {
    throw new RangeError(`A ${Type.name} cannot hold ${bytes.length} bytes (not a multiple of ${Type.BYTES_PER_ELEMENT})`);
  }
  const length = bytes.length / Type.BYTES_PER_ELEMENT;
  const out = activeArena ? activeArena.take(Type, length) : new Type(length);
  new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(bytes);
  return out;
}

type TypedArrayType = (typeof TYPED_ARRAYS)[number];

/**
 * Reusable memory that {@link decode} carves typed arrays from instead of allocating new ones.
 * Fresh memory costs a page fault per 4 KiB on first touch (expensive on the project's VMs, see
 * docs/runtime-notes.md), while an arena that has grown to
 * the size of the messages it decodes is written without faults. The owner calls `reset()` once
 * nothing decoded into it is in use any more; arrays decoded before a reset then change under
 * their users, so an arena belongs to one request at a time.
 */
export class DecodeArena {
  #buffer: ArrayBuffer;
  #offset = 0;
  #highWater = 0;

  constructor(initialBytes = 0) {
    this.#buffer = new ArrayBuffer(initialBytes);
  }

  /** Bytes of the current backing buffer. */
  get capacity(): number {
    return this.#buffer.byteLength;
  }

  /** A zeroed-or-stale typed array of `length` elements (8-byte aligned), valid until reset(). */
  take<T extends TypedArrayType>(Type: T, length: number): InstanceType<T> {
    const bytes = length * Type.BYTES_PER_ELEMENT;
    if (this.#offset + bytes > this.#buffer.byteLength) {
      // Arrays already taken keep the old buffer alive; the next reset starts on the new one.
      this.#buffer = new ArrayBuffer(Math.max(2 * this.#buffer.byteLength, this.#highWater, bytes, 64 * 1024));
      this.#offset = 0;
    }
    const out = new Type(this.#buffer, this.#offset, length) as InstanceType<T>;
    this.#offset += (bytes + 7) & ~7;
    this.#highWater = Math.max(this.#highWater, this.#offset);
    return out;
  }

  /** Makes all the memory reusable: every array taken so far must be out of use. */
  reset(): void {
    this.#offset = 0;
  }
}

let activeArena: DecodeArena | undefined;

addExtension({ type: TYPED_ARRAY_EXTENSION, unpack: unpackTypedArray });

/** Encodes a value. The returned bytes may share memory with msgpackr's buffer: copy to keep. */
export function encode(value: unknown): Uint8Array {
  return packr.pack(value);
}

/**
 * Encodes a value into `target` (the same bytes as {@link encode}). Returns a view of `target`
 * when the message fits, otherwise the bytes in new memory: check `result.buffer === target.buffer`.
 * For callers that reuse their buffers (the worker pool's request bodies): encoding in place
 * saves a copy and msgpackr's growing buffers (1.75 MB request: 0.84 → 0.45 ms in Node).
 */
export function encodeInto(value: unknown, target: Uint8Array): Uint8Array {
  packr.useBuffer(target);
  try {
    return packr.pack(value);
  } finally {
    // msgpackr keeps one buffer and write position for all its encoders (module state), and the
    // next encode() would go on writing after these bytes, into memory the caller reuses: park
    // it on a buffer of its own.
    packr.useBuffer(new Uint8Array(8192));
  }
}

/**
 * Encodes a record as the entries of a MessagePack map, without the map's header: `count` entries
 * in `entries`. Records with disjoint keys join into one map as `mapHeader(a.count + b.count)`,
 * `a.entries`, `b.entries`, which decodes as `{...a, ...b}`; so the fields that many messages share
 * can be encoded once and copied into each (the worker pool's request bodies). With `target`, the
 * bytes are written into it as with {@link encodeInto} (check `entries.buffer === target.buffer`);
 * without, they may share memory with msgpackr's buffer: copy to keep.
 */
export function encodeEntries(record: Readonly<Record<string, unknown>>, target?: Uint8Array): { count: number; entries: Uint8Array } {
  const bytes = target ? encodeInto(record, target) : encode(record);
  const type = bytes[0];
  // msgpackr writes a plain object as a map16 (its size patched in afterwards); the other two
  // forms are read too, so that a change of msgpackr's choice does not break the entries.
  if (type >= 0x80 && type <= 0x8f) return { count: type & 0x0f, entries: bytes.subarray(1) };
  if (type === 0xde) return { count: (bytes[1] << 8) | bytes[2], entries: bytes.subarray(3) };
  if (type === 0xdf) return { count: new DataView(bytes.buffer, bytes.byteOffset + 1, 4).getUint32(0), entries: bytes.subarray(5) };
  throw new TypeError(`Cannot encode entries: the record did not encode as a MessagePack map (first byte 0x${type.toString(16)})`);
}

/** The header of a MessagePack map of `count` entries, in its shortest form (see encodeEntries). */
export function mapHeader(count: number): Uint8Array {
  if (!Number.isInteger(count) || count < 0 || count > 0xffffffff) {
    throw new RangeError(`Cannot encode map header: 'count' must be an integer in [0, 2^32), current value is ${count}`);
  }
  if (count < 16) return Uint8Array.of(0x80 | count);
  if (count <= 0xffff) return Uint8Array.of(0xde, count >> 8, count & 0xff);
  const header = new Uint8Array(5);
  header[0] = 0xdf;
  new DataView(header.buffer).setUint32(1, count);
  return header;
}

/**
 * Decodes bytes produced by {@link encode}. Typed arrays come back aligned and of their type, in
 * fresh memory or, with `arena`, in the arena's memory (valid until its next reset).
 */
export function decode(bytes: Uint8Array, arena?: DecodeArena): unknown {
  activeArena = arena;
  try {
    return packr.unpack(bytes);
  } finally {
    activeArena = undefined;
  }
}
