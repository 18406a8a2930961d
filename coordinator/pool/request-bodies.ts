/**
 * The worker pool's request bodies: each task encoded into pooled memory, with the SHA-256 digest
 * its signature needs, kept for the task's retries and hedges.
 *
 * The shards of one step differ only in SHARD_FIELDS (inputs, labels, indices, first chunk); the
 * rest, above all the parameters, is the same objects for all of them. Tasks open at the same time
 * whose other fields are identical (`===`, field by field) share one *context*: its fields are
 * encoded once, into the front of every body (after the map header), and hashed once, each body's
 * digest continuing a copy of that hash over its shard fields. For a step of 8 shards of the
 * reference MLP this encodes and hashes the 0.94 MB of parameters once instead of 8 times.
 *
 * A context lives while a task that uses it is open (from `open` to `close`), so the cache never
 * outlives the step that filled it: a later step builds new parameter objects, and a task whose
 * objects were changed in place after its step ended cannot pick up stale bytes. A lone task (its
 * context has no other open task) is encoded whole, as before, with no extra copy.
 */
import { createHash, type Hash } from "node:crypto";
import { encodeEntries, encodeInto, mapHeader } from "../../core/wire/codec.ts";
import { SHARD_FIELDS } from "../../core/wire/messages.ts";
import type { BufferPool } from "./buffer-pool.ts";

/** A task's request body and its digest. */
export interface Prepared {
  readonly body: Uint8Array;
  /** Lower-case hex SHA-256 of `body`; null for unsigned requests (the digest only feeds the signature). */
  readonly digest: string | null;
  /** Time spent encoding and hashing, including the context's share when this body encoded it. */
  readonly encodeMs: number;
}

/** One open task: `prepare` encodes it (once; later calls return the same body), `close` ends it. */
export interface RequestBody {
  prepare(): Prepared;
  /** Releases the body's memory: nothing may read it afterwards. */
  close(): void;
}

/** The fields a step's tasks share, encoded once (map entries without a header) and hashed once. */
interface Context {
  readonly fields: readonly (readonly [string, unknown])[];
  open: number;
  /** Pooled buffer holding `entries`. */
  buffer: Uint8Array | null;
  entries: Uint8Array | null;
  count: number;
  /** SHA-256 over the map header and the entries, by the map's entry count (a header per count). */
  readonly hashes: Map<number, Hash>;
}

export class RequestBodies {
  readonly #buffers: BufferPool;
  readonly #signed: boolean;
  readonly #contexts: Context[] = [];
  /** Sizes of the latest whole-task body and context: the sizes to try encoding the next ones into. */
  #lastBodyBytes = 0;
  #lastContextBytes = 0;

  /** `buffers` supplies body and context memory; `signed` says whether bodies need a digest. */
  constructor(buffers: BufferPool, options: { readonly signed: boolean }) {
    this.#buffers = buffers;
    this.#signed = options.signed;
  }

  /** Contexts with an open task (for tests). */
  get openContexts(): number {
    return this.#contexts.length;
  }

  /** Opens a task (a request message); encode it with `prepare`, and `close` it once no attempt can read it. */
  open(task: object): RequestBody {
    const record = task as Readonly<Record<string, unknown>>;
    const fields: (readonly [string, unknown])[] = [];
    const shard: Record<string, unknown> = {};
    for (const key of Object.keys(record)) {
      if (SHARD_FIELDS.has(key)) shard[key] = record[key];
      else fields.push([key, record[key]]);
    }
    const context = this.#contextOf(fields);
    context.open++;
    let prepared: Prepared | null = null;
    let buffer: Uint8Array | null = null;
    let closed = false;
    return {
      prepare: () => {
        if (prepared) return prepared;
        const t0 = performance.now();
        const alone = context.open === 1 && context.entries === null;
        const out = alone ? this.#whole(record) : this.#withContext(context, shard);
        buffer = out.buffer;
        prepared = { body: out.body, digest: out.digest, encodeMs: performance.now() - t0 };
        return prepared;
      },
      close: () => {
        if (closed) return;
        closed = true;
        if (buffer) this.#buffers.release(buffer);
        if (--context.open === 0) this.#drop(context);
      },
    };
  }

  #contextOf(fields: readonly (readonly [string, unknown])[]): Context {
    const found = this.#contexts.find((c) =>
      c.fields.length === fields.length && c.fields.every(([key, value], i) => fields[i][0] === key && fields[i][1] === value)
    );
    if (found) return found;
    const context: Context = { fields, open: 0, buffer: null, entries: null, count: 0, hashes: new Map() };
    this.#contexts.push(context);
    return context;
  }

  #drop(context: Context): void {
    this.#contexts.splice(this.#contexts.indexOf(context), 1);
    if (context.buffer) this.#buffers.release(context.buffer);
    context.buffer = context.entries = null;
    context.hashes.clear();
  }

  /** The whole task encoded in place into a pooled buffer, hashed in one pass. */
  #whole(task: unknown): { buffer: Uint8Array; body: Uint8Array; digest: string | null } {
    const { buffer, bytes } = this.#encodePooled(this.#lastBodyBytes, (target) => encodeInto(task, target));
    this.#lastBodyBytes = bytes.length;
    return { buffer, body: bytes, digest: this.#signed ? createHash("sha256").update(bytes).digest("hex") : null };
  }

  /** Header, the context's entries (encoded on first use), then this task's shard entries. */
  #withContext(context: Context, shard: Readonly<Record<string, unknown>>): { buffer: Uint8Array; body: Uint8Array; digest: string | null } {
    if (context.entries === null) {
      const record = Object.fromEntries(context.fields);
      let count = 0;
      const { buffer, bytes } = this.#encodePooled(this.#lastContextBytes, (target) => {
        const encoded = encodeEntries(record, target);
        count = encoded.count;
        return encoded.entries;
      });
      // Room for the largest map header, which encodeEntries writes before the entries.
      this.#lastContextBytes = bytes.length + 5;
      context.buffer = buffer;
      context.entries = bytes;
      context.count = count;
    }
    const own = encodeEntries(shard);
    const count = context.count + own.count;
    const header = mapHeader(count);
    const length = header.length + context.entries.length + own.entries.length;
    const buffer = this.#buffers.acquire(length);
    buffer.set(header, 0);
    buffer.set(context.entries, header.length);
    buffer.set(own.entries, header.length + context.entries.length);
    const body = buffer.subarray(0, length);
    let digest: string | null = null;
    if (this.#signed) {
      let prefix = context.hashes.get(count);
      if (!prefix) {
        prefix = createHash("sha256").update(header).update(context.entries);
        context.hashes.set(count, prefix);
      }
      digest = prefix.copy().update(body.subarray(length - own.entries.length)).digest("hex");
    }
    return { buffer, body, digest };
  }

  /**
   * Runs `encode` on a pooled buffer of `sizeHint` bytes; when the bytes did not fit (they came
   * back in other memory), moves them into a pooled buffer of their size.
   */
  #encodePooled(sizeHint: number, encode: (target: Uint8Array) => Uint8Array): { buffer: Uint8Array; bytes: Uint8Array } {
    let buffer = this.#buffers.acquire(sizeHint);
    let bytes: Uint8Array;
    try {
      bytes = encode(buffer);
    } catch (error) {
      this.#buffers.release(buffer);
      throw error;
    }
    if (bytes.buffer !== buffer.buffer) {
      this.#buffers.release(buffer);
      buffer = this.#buffers.acquire(bytes.length);
      buffer.set(bytes);
      bytes = buffer.subarray(0, bytes.length);
    }
    return { buffer, bytes };
  }
}
