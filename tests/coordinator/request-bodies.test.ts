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
import { type Prepared, RequestBodies, type RequestBody } from "../../coordinator/pool/request-bodies.ts";
import { Domain, Rng } from "../../core/random.ts";

const rng = new Rng(11, Domain.test);
const floats = (n: number) => Float32Array.from({ length: n }, () => rng.normal());

/** The step's common fields: a model and parameters big enough to overflow a first size guess. */
function stepContext(step: number) {
  return {
    protocol: 1,
    model: { input: [64], layers: [{ type: "dense", units: 32 }], output: "softmax" },
    parameters: { "dense0.W": wireFloat32(floats(64 * 1024), [64, 1024]), "dense0.b": wireFloat32(floats(1024), [1024]) },
    chunkSize: 4,
    step,
    seed: 3,
    deterministic: true,
    totalChunks: 4,
  };
}

function shardOf(context: ReturnType<typeof stepContext>, chunk: number) {
  const rows = 4;
  return {
    ...context,
    inputs: wireFloat32(floats(rows * 64), [rows, 64]),
    labels: wireInt32(Int32Array.from({ length: rows }, (_, i) => i % 2), [rows]),
    indices: wireInt32(Int32Array.from({ length: rows }, (_, i) => chunk * rows + i), [rows]),
    firstChunk: chunk,
  };
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/** Prepares every open body and checks that it decodes to its task and carries its own SHA-256. */
function expectBodiesOf(open: RequestBody[], tasks: object[]): Prepared[] {
  return open.map((b, i) => {
    const prepared = b.prepare();
    expect(decode(prepared.body)).toEqual(tasks[i]);
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
  it("gives every shard of a step a body that decodes to its task, with the SHA-256 of the whole body", () => {
    const bodies = new RequestBodies(new BufferPool({ buffers: 8 }), { signed: true });
    const context = stepContext(0);
    const tasks = [0, 1, 2, 3].map((c) => shardOf(context, c));
    const open = tasks.map((t) => bodies.open(t));
    expect(bodies.openContexts).toBe(1);
    const prepared = expectBodiesOf(open, tasks);
    // The shared fields stand at the front of every body, byte for byte.
    const front = prepared[0].body.subarray(0, 200_000);
    for (const p of prepared) expect(Buffer.compare(p.body.subarray(0, 200_000), front)).toBe(0);
    // A retry or a hedge sends the very same bytes.
    expect(open[2].prepare()).toBe(prepared[2]);
    for (const b of open) b.close();
    expect(bodies.openContexts).toBe(0);
  });

  it("encodes the step's common fields once for all its shards", () => {
    const bodies = new RequestBodies(new BufferPool({ buffers: 8 }), { signed: true });
    let reads = 0;
    const model = { input: [64], layers: [{ type: "dense", units: 32 }] } as Record<string, unknown>;
    // The encoder reads every field it writes: a getter counts how often the model is encoded.
    Object.defineProperty(model, "output", { enumerable: true, get: () => (reads++, "softmax") });
    const context = { ...stepContext(0), model };
    const tasks = [0, 1, 2, 3].map((c) => shardOf(context as never, c));
    const open = tasks.map((t) => bodies.open(t));
    const prepared = open.map((b) => b.prepare());
    expect(reads).toBe(1);
    for (const p of prepared) expect((decode(p.body) as { model: { output: string } }).model.output).toBe("softmax");
    for (const b of open) b.close();
  });

  it("encodes a lone task whole: the same bytes as encode()", () => {
    const bodies = new RequestBodies(new BufferPool({ buffers: 4 }), { signed: true });
    const task = shardOf(stepContext(0), 0);
    const body = bodies.open(task);
    const { body: bytes, digest } = body.prepare();
    expect(Buffer.compare(bytes, encode(task))).toBe(0);
    expect(digest).toBe(sha256(bytes));
    body.close();
  });

  it("keeps the tasks of two jobs open at once apart", () => {
    const bodies = new RequestBodies(new BufferPool({ buffers: 8 }), { signed: true });
    const one = stepContext(5), two = stepContext(5);
    const tasks = [shardOf(one, 0), shardOf(two, 0), shardOf(one, 1), shardOf(two, 1)];
    const open = tasks.map((t) => bodies.open(t));
    expect(bodies.openContexts).toBe(2);
    expectBodiesOf(open, tasks);
    for (const b of open) b.close();
  });

  it("never reuses a step's encoding after its tasks are closed, even for the same objects changed in place", () => {
    const bodies = new RequestBodies(new BufferPool({ buffers: 8 }), { signed: true });
    const context = stepContext(1);
    const first = [shardOf(context, 0), shardOf(context, 1)].map((t) => bodies.open(t));
    for (const b of first) b.prepare();
    for (const b of first) b.close();
    context.parameters["dense0.W"].data.fill(0.25);
    const tasks = [shardOf(context, 2), shardOf(context, 3)];
    const second = tasks.map((t) => bodies.open(t));
    for (const { body } of expectBodiesOf(second, tasks)) {
      expect((decode(body) as typeof tasks[0]).parameters["dense0.W"].data[7]).toBe(0.25);
    }
    for (const b of second) b.close();
  });

  it("leaves bodies unhashed when unsigned", () => {
    const bodies = new RequestBodies(new BufferPool({ buffers: 4 }), { signed: false });
    const context = stepContext(0);
    const open = [shardOf(context, 0), shardOf(context, 1)].map((t) => bodies.open(t));
    for (const b of open) expect(b.prepare().digest).toBeNull();
    for (const b of open) b.close();
  });

  it("throws for a task it cannot encode, and closing it drops its context", () => {
    const bodies = new RequestBodies(new BufferPool({ buffers: 4 }), { signed: true });
    const context = stepContext(0);
    const bad = { ...shardOf(context, 0), inputs: Symbol("not encodable") };
    const good = shardOf(context, 1);
    const open = [bodies.open(bad), bodies.open(good)];
    expect(() => open[0].prepare()).toThrow();
    expect(decode(open[1].prepare().body)).toEqual(good);
    for (const b of open) b.close();
    expect(bodies.openContexts).toBe(0);
  });
});
