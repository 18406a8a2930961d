/**
 * Reusable byte buffers for request and reply bodies. Fresh memory costs a page fault per 4 KiB on
 * first touch (~11.5 µs each on the reference VM: ~5 ms for a 1.75 MB request body after the heap
 * was collected), and a megabyte allocation per shard is external memory that makes V8 run full
 * collections during training steps. A pool grown to the largest body seen avoids both.
 */

/** Buffers larger than this are not kept (a rare huge body should not pin its memory). */
export const MAX_POOLED_BYTES = 64 * 2 ** 20;

export interface BufferPoolLimits {
  /** Free buffers kept at most. */
  readonly buffers: number;
  /** Bytes of free buffers kept at most (default 256 MiB). */
  readonly bytes?: number;
}

export class BufferPool {
  readonly #free: Uint8Array[] = [];
  readonly #maxBuffers: number;
  readonly #maxBytes: number;
  #bytes = 0;

  constructor(limits: BufferPoolLimits) {
    this.#maxBuffers = limits.buffers;
    this.#maxBytes = limits.bytes ?? 256 * 2 ** 20;
  }

  /** Bytes held in free buffers. */
  get freeBytes(): number {
    return this.#bytes;
  }

  /** A buffer of at least `bytes` bytes with stale contents; give it back with `release`. */
  acquire(bytes: number): Uint8Array {
    const i = this.#free.findIndex((b) => b.length >= bytes);
    if (i >= 0) {
      const [buffer] = this.#free.splice(i, 1);
      this.#bytes -= buffer.length;
      return buffer;
    }
    // Room to grow a little, so that bodies of slightly varying size reuse one buffer.
    return new Uint8Array(Math.max(64 * 1024, Math.ceil(bytes * 1.125)));
  }

  /** Makes `buffer` reusable; nothing may read or write it afterwards. */
  release(buffer: Uint8Array): void {
    if (buffer.length > MAX_POOLED_BYTES || this.#free.length >= this.#maxBuffers || this.#bytes + buffer.length > this.#maxBytes) return;
    this.#free.push(buffer);
    this.#bytes += buffer.length;
  }
}
