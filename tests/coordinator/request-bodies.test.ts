/**
 * The worker pool's request bodies: the shards of a step share one encoding and one hash of their
 * common fields. The oracle for every body is the task itself (decoding the body gives it back)
 * and a SHA-256 of the whole body computed from scratch.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { decode, encode, encodeEntries, mapHeader } from "../../core/wire/codec.ts";
import { wireFloat32, wireInt32 } from "../../core/wire/tensor.ts";
import { BufferPool } from "../../coordinator/pool/buffer-pool.ts";
import { type Prepared, RequestBodies, type TaskBodies } from "../../coordinator/pool/request-bodies.ts";
import { Domain, Rng } from "../../core/random.ts";

const rng = new Rng(11, Domain.test);
const floats = (n: number) => Float32Array.from({ length: n }, () => rng.normal());

/** A step's context: a model and parameters big enough to overflow a first size guess. */
function stepContext(step: number) {
  return {
    model: { input: [64], layers: [{ type: "dense", units: 32 }], output: "softmax" },
    parameters: { "dense0.W": wireFloat32(floats(64 * 1024), [64, 1024]), "dense0.b": wireFloat32(floats(1024), [1024]) },
    chunkSize: 4,
    step,
    seed: 3,
    deterministic: true,
    totalChunks: 4,
  };
}

function shardOf(chunk: number) {
  const rows = 4;
  return {
    inputs: wireFloat32(floats(rows * 64), [rows, 64]),
    labels: wireInt32(Int32Array.from({ length: rows }, (_, i) => i % 2), [rows]),
    indices: wireInt32(Int32Array.from({ length: rows }, (_, i) => chunk * rows + i), [rows]),
    firstChunk: chunk,
  };
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/** Prepares every body of a task and checks that it decodes to its shard's request and carries its own SHA-256. */
function expectBodiesOf(bodies: TaskBodies, context: object, shards: object[]): Prepared[] {
  return shards.map((shard, i) => {
    const prepared = bodies.prepare(i);
    expect(decode(prepared.body)).toEqual({ protocol: 1, ...context, ...shard });
    expect(prepared.digest).toBe(sha256(prepared.body));
    return prepared;
  });
}

describe("encodeEntries and mapHeader", () => {
  it("join two records with disjoint keys into one map that decodes as their union", () => {
    const a = encodeEntries({ x: 1, y: [1, 2] });
    const aBytes = a.entries.slice();
    const b = encodeEntries({ z: new Float32Array([0.5, -2]) });
    const joined = new Uint8Array([...mapHeader(a.count + b.count), ...aBytes, ...b.entries]);
    expect(decode(joined)).toEqual({ x: 1, y: [1, 2], z: new Float32Array([0.5, -2]) });
  });

  it("write each header form a MessagePack decoder reads back (fixmap, map16, map32)", () => {
    expect([...mapHeader(3)]).toEqual([0x83]);
    expect([...mapHeader(16)]).toEqual([0xde, 0, 16]);
    expect([...mapHeader(70_000)]).toEqual([0xdf, 0, 1, 0x11, 0x70]);
    expect(decode(mapHeader(0))).toEqual({});
    expect(decode(new Uint8Array([...mapHeader(16), ...encodeEntries(Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, i]))).entries]))).toHaveProperty("k15", 15);
    expect(() => mapHeader(-1)).toThrow(RangeError);
  });
});

describe("RequestBodies", () => {
  it("gives every shard of a task a body that decodes to its request, with the SHA-256 of the whole body", () => {
    const buffers = new BufferPool({ buffers: 8 });
    const bodies = new RequestBodies(buffers, { signed: true });
    const context = stepContext(0);
    const shards = [0, 1, 2, 3].map(shardOf);
    const open = bodies.open(context, shards);
    const prepared = expectBodiesOf(open, context, shards);
    // The context stands at the front of every body, byte for byte.
    const front = prepared[0].body.subarray(0, 200_000);
    for (const p of prepared) expect(Buffer.compare(p.body.subarray(0, 200_000), front)).toBe(0);
    // A retry or a hedge sends the very same bytes.
    expect(open.prepare(2)).toBe(prepared[2]);
    // Closing gives the memory of the context and of every body back to the pool.
    const held = buffers.freeBytes;
    open.close();
    expect(buffers.freeBytes).toBeGreaterThanOrEqual(held + prepared.reduce((a, p) => a + p.body.length, 0));
    expect(() => open.prepare(0)).toThrow(/closed/);
  });

  it("encodes the task's context once for all its shards", () => {
    const bodies = new RequestBodies(new BufferPool({ buffers: 8 }), { signed: true });
    let reads = 0;
    const model = { input: [64], layers: [{ type: "dense", units: 32 }] } as Record<string, unknown>;
    // The encoder reads every field it writes: a getter counts how often the model is encoded.
    Object.defineProperty(model, "output", { enumerable: true, get: () => (reads++, "softmax") });
    const open = bodies.open({ ...stepContext(0), model }, [0, 1, 2, 3].map(shardOf));
    const prepared = [0, 1, 2, 3].map((i) => open.prepare(i));
    expect(reads).toBe(1);
    for (const p of prepared) expect((decode(p.body) as { model: { output: string } }).model.output).toBe("softmax");
    open.close();
  });

  it("encodes a task of one shard whole: the same bytes as encode() of its request", () => {
    const bodies = new RequestBodies(new BufferPool({ buffers: 4 }), { signed: true });
    const context = stepContext(0), shard = shardOf(0);
    const open = bodies.open(context, [shard]);
    const { body: bytes, digest } = open.prepare(0);
    expect(Buffer.compare(bytes, encode({ protocol: 1, ...context, ...shard }))).toBe(0);
    expect(digest).toBe(sha256(bytes));
    open.close();
  });

  it("keeps two tasks open at once apart", () => {
    const bodies = new RequestBodies(new BufferPool({ buffers: 8 }), { signed: true });
    const one = stepContext(5), two = { ...stepContext(6), seed: 4 };
    const shards = [shardOf(0), shardOf(1)];
    const a = bodies.open(one, shards), b = bodies.open(two, shards);
    expectBodiesOf(b, two, shards);
    expectBodiesOf(a, one, shards);
    a.close();
    b.close();
  });

  it("encodes a new task afresh, even for the same objects changed in place", () => {
    const bodies = new RequestBodies(new BufferPool({ buffers: 8 }), { signed: true });
    const context = stepContext(1);
    const first = bodies.open(context, [shardOf(0), shardOf(1)]);
    first.prepare(0);
    first.prepare(1);
    first.close();
    context.parameters["dense0.W"].data.fill(0.25);
    const shards = [shardOf(2), shardOf(3)];
    const second = bodies.open(context, shards);
    for (const { body } of expectBodiesOf(second, context, shards)) {
      expect((decode(body) as typeof context).parameters["dense0.W"].data[7]).toBe(0.25);
    }
    second.close();
  });

  it("leaves bodies unhashed when unsigned", () => {
    const bodies = new RequestBodies(new BufferPool({ buffers: 4 }), { signed: false });
    const open = bodies.open(stepContext(0), [shardOf(0), shardOf(1)]);
    expect(open.prepare(0).digest).toBeNull();
    expect(open.prepare(1).digest).toBeNull();
    open.close();
  });

  it("throws for a shard it cannot encode and still encodes the others", () => {
    const bodies = new RequestBodies(new BufferPool({ buffers: 4 }), { signed: true });
    const context = stepContext(0);
    const good = shardOf(1);
    const open = bodies.open(context, [{ ...shardOf(0), inputs: Symbol("not encodable") }, good]);
    expect(() => open.prepare(0)).toThrow();
    expect(decode(open.prepare(1).body)).toEqual({ protocol: 1, ...context, ...good });
    open.close();
  });
});
