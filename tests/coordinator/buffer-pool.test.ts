/** The coordinator's pool of body buffers: reuse after release only, and bounded retention. */
import { describe, expect, it } from "vitest";
import { BufferPool, MAX_POOLED_BYTES } from "../../coordinator/pool/buffer-pool.ts";

describe("BufferPool", () => {
  it("hands a released buffer out again for a body that fits, and never one that is held", () => {
    const pool = new BufferPool({ buffers: 4 });
    const a = pool.acquire(100_000);
    const b = pool.acquire(100_000);
    expect(a).not.toBe(b);
    expect(a.length).toBeGreaterThanOrEqual(100_000);
    pool.release(a);
    expect(pool.freeBytes).toBe(a.length);
    expect(pool.acquire(a.length + 1)).not.toBe(a); // too small: a new one
    expect(pool.acquire(50_000)).toBe(a);
    expect(pool.freeBytes).toBe(0);
    expect(pool.acquire(50_000)).not.toBe(a);
  });

  it("keeps at most `buffers` free buffers and `bytes` free bytes, and no huge buffer", () => {
    const byCount = new BufferPool({ buffers: 2 });
    const held = [1, 2, 3].map(() => byCount.acquire(1_000));
    for (const buffer of held) byCount.release(buffer);
    expect(byCount.freeBytes).toBe(held[0].length + held[1].length);

    const byBytes = new BufferPool({ buffers: 10, bytes: 2_500_000 });
    const big = [1, 2, 3].map(() => byBytes.acquire(1_000_000));
    for (const buffer of big) byBytes.release(buffer);
    expect(byBytes.freeBytes).toBe(big[0].length + big[1].length);
    expect(byBytes.freeBytes).toBeLessThanOrEqual(2_500_000);

    const huge = new BufferPool({ buffers: 10, bytes: 4 * MAX_POOLED_BYTES });
    huge.release(new Uint8Array(MAX_POOLED_BYTES + 1));
    expect(huge.freeBytes).toBe(0);
  });
});
