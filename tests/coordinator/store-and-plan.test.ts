import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FileStore, writeAtomic } from "../../coordinator/store/file-store.ts";
import { maxShardExamples, planShards } from "../../coordinator/training/shard-plan.ts";
import { parseModelSpec, planModel } from "../../core/model/spec.ts";
import { JobEvents } from "../../coordinator/jobs/events.ts";

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const small = planModel(parseModelSpec({ input: [10], layers: [{ type: "dense", units: 20 }, { type: "dense", units: 2 }], output: "softmax" }));

describe("shard plan", () => {
  it("cuts whole chunks into contiguous, balanced shards", () => {
    // 250 rows in chunks of 32: 8 chunks (the last one of 26 rows) over 3 workers: 3, 3, 2.
    expect(planShards(250, 32, { workers: 3, limits: {} }, small)).toEqual([
      { firstChunk: 0, chunks: 3, rowStart: 0, rowEnd: 96 },
      { firstChunk: 3, chunks: 3, rowStart: 96, rowEnd: 192 },
      { firstChunk: 6, chunks: 2, rowStart: 192, rowEnd: 250 },
    ]);
    // More workers than chunks: one chunk each, no empty shard.
    expect(planShards(40, 32, { workers: 8, limits: {} }, small).map((s) => s.chunks)).toEqual([1, 1]);
  });

  it("respects every limit the workers advertise", () => {
    const shards = planShards(256, 32, { workers: 1, limits: { maxExamples: 64 } }, small);
    expect(shards.length).toBe(4);
    expect(Math.max(...shards.map((s) => s.rowEnd - s.rowStart))).toBeLessThanOrEqual(64);
    // 10 + 20 + 2 = 32 activations per example: 1000 / 32 → 31 examples.
    expect(maxShardExamples(small, 8, { maxActivations: 1000 })).toBe(31);
    // 262 parameters: 1000 values of chunk gradients hold 3 chunks of 8.
    expect(maxShardExamples(small, 8, { maxChunkGradients: 1000 })).toBe(24);
    // Body: 4·262 bytes of parameters + 64 KiB, then 4·(10 + 2 + 1) bytes per example.
    expect(maxShardExamples(small, 8, { maxBodyBytes: 65536 + 4 * 262 + 52 * 10 })).toBe(10);
    expect(() => planShards(64, 32, { workers: 1, limits: { maxExamples: 16 } }, small)).toThrow(/one chunk of 32 examples/);
  });
});

describe("file store", () => {
  it("writes atomically and leaves no temporary file behind", async () => {
    const dir = await mkdtemp(join(tmpdir(), "edgeprop-store-"));
    dirs.push(dir);
    const path = join(dir, "a", "file.bin");
    await writeAtomic(path, Uint8Array.from([1, 2, 3]));
    await writeAtomic(path, Uint8Array.from([4, 5]));
    expect(await readdir(join(dir, "a"))).toEqual(["file.bin"]);
    const store = new FileStore(dir);
    await store.putCheckpoint("job_1", Uint8Array.from([9]));
    expect(await store.getCheckpoint("job_1")).toEqual(Uint8Array.from([9]));
    expect(await store.getCheckpoint("job_2")).toBeNull();
  });

  it("reads a metrics log whose last line was torn by a crash", async () => {
    const dir = await mkdtemp(join(tmpdir(), "edgeprop-store-"));
    dirs.push(dir);
    const store = new FileStore(dir);
    const entry = { kind: "step", member: 0, epoch: 0, step: 1, loss: 1, smoothedLoss: 1, learningRate: 0.1, skipped: false, timing: { plan: 0, encode: 0, transfer: 0, compute: 0, decode: 0, reduce: 0, optimizer: 0 } } as const;
    await store.appendMetrics("job_x", [entry, { ...entry, step: 2 }]);
    await writeFile(join(dir, "jobs", "job_x", "metrics.ndjson"), '{"kind":"step","step":3,"lo', { flag: "a" });
    expect((await store.readMetrics("job_x")).map((e) => e.step)).toEqual([1, 2]);
  });

  it("refuses ids that could escape the data directory", async () => {
    const store = new FileStore("/tmp/never");
    expect(await store.getJob("../../etc/passwd")).toBeNull();
    await expect(store.putCheckpoint("../x", new Uint8Array())).rejects.toThrow(/ids are 1-64 characters/);
  });
});

describe("job events", () => {
  it("replays buffered events after Last-Event-ID and delivers new ones", () => {
    const events = new JobEvents();
    events.publish("j", "progress", { step: 1 });
    events.publish("j", "progress", { step: 2 });
    const seen: number[] = [];
    const unsubscribe = events.subscribe("j", 1, (e) => seen.push(e.id));
    events.publish("j", "done", {});
    unsubscribe();
    events.publish("j", "progress", { step: 3 });
    expect(seen).toEqual([2, 3]);
  });
});
