import { describe, expect, it } from "vitest";
import { initBatchNormState, initParameters } from "../../core/model/parameters.ts";
import { parseModelSpec, planModel } from "../../core/model/spec.ts";
import { DEFAULT_WORKER_LIMITS } from "../../core/limits.ts";
import { decode, DecodeArena, encode, encodeInto } from "../../core/wire/codec.ts";
import { decodeGradientsResponse, GradientsResponseSchema, validateMessage } from "../../core/wire/messages.ts";
import { decodeEvaluateRequest, decodeGradientsRequest } from "../../core/wire/request-check.ts";
import { firstNonFinite } from "../../core/validate.ts";
import { WireError } from "../../core/wire/wire-error.ts";
import { randomBatch } from "../helpers/batches.ts";
import { evaluateRequest, gradientsRequest } from "../helpers/wire-fixtures.ts";

const spec = {
  input: [6],
  layers: [{ type: "dense", units: 8 }, { type: "batchnorm" }, { type: "relu" }, { type: "dropout", keepProb: 0.8 }, { type: "dense", units: 3 }],
  output: "softmax",
};
const plan = planModel(parseModelSpec(spec));
const params = initParameters(plan, 1);
const batch = randomBatch(plan, 10, 2);
const valid = () => gradientsRequest(plan, spec, params, batch, { chunkSize: 4, step: 3, seed: 7 });

/** Encodes a request changed by `edit` and returns the WireError its decoding throws. */
function errorOf(edit: (r: Record<string, any>) => void, limits = DEFAULT_WORKER_LIMITS): WireError {
  const request = valid() as Record<string, any>;
  edit(request);
  try {
    decodeGradientsRequest(encode(request), limits);
  } catch (error) {
    expect(error).toBeInstanceOf(WireError);
    return error as WireError;
  }
  throw new Error("expected the request to be rejected");
}

describe("wire codec", () => {
  it("round-trips typed arrays as typed arrays of their type, subarray views included", () => {
    const f = new Float32Array([1.5, -0, NaN, Infinity, 3e-39]);
    const big = new Float32Array(100).map((_, i) => i);
    const value = { protocol: 1, f, i: new Int32Array([-1, 2 ** 31 - 1]), u: new Uint8Array([0, 255]), d: new Float64Array([0.1]), view: big.subarray(10, 13), n: 2 ** 40, s: "é" };
    const back = decode(encode(value).slice()) as typeof value;
    expect(back.f).toBeInstanceOf(Float32Array);
    expect(Array.from(new Uint32Array(back.f.buffer))).toEqual(Array.from(new Uint32Array(f.buffer)));
    expect(back.i).toEqual(value.i);
    expect(back.u).toBeInstanceOf(Uint8Array);
    expect(Array.from(back.u)).toEqual([0, 255]);
    expect(back.d).toEqual(value.d);
    expect(Array.from(back.view)).toEqual([10, 11, 12]);
    expect(back.n).toBe(2 ** 40);
    expect(back.s).toBe("é");
  });

  it("decodes into a reusable arena: arrays stay intact until reset, growth included", () => {
    const arena = new DecodeArena();
    const a = decode(encode({ x: new Float32Array([1, 2, 3]), y: new Int32Array([7]) }).slice(), arena) as { x: Float32Array; y: Int32Array };
    const big = Float32Array.from({ length: 50_000 }, (_, i) => i);
    const b = decode(encode({ z: big }).slice(), arena) as { z: Float32Array };
    expect(Array.from(a.x)).toEqual([1, 2, 3]);
    expect(Array.from(a.y)).toEqual([7]);
    expect(b.z).toEqual(big);
    expect(a.x.byteOffset % 8).toBe(0);
    arena.reset();
    const capacity = arena.capacity;
    const c = decode(encode({ z: big }).slice(), arena) as { z: Float32Array };
    expect(c.z).toEqual(big);
    expect(arena.capacity).toBe(capacity);
    expect(c.z.buffer).toBe(b.z.buffer); // the same memory, reused
    expect(() => decode(new Uint8Array([0xc7, 0x04, 0x74, 0x08, 1, 2, 3]))).toThrow(RangeError);
  });

  it("encodes into the caller's buffer the same bytes as encode, or into new memory when they do not fit", () => {
    const value = { protocol: 1, w: Float32Array.from({ length: 5_000 }, (_, i) => i / 7), s: "shard", n: [1, 2, 3] };
    const expected = Uint8Array.from(encode(value));
    const target = new Uint8Array(64 * 1024).fill(0xaa);
    const bytes = encodeInto(value, target);
    expect(bytes.buffer).toBe(target.buffer);
    expect(bytes.byteOffset).toBe(0);
    expect(bytes).toEqual(expected);
    // Encoding something else afterwards, either way, leaves the caller's bytes alone (msgpackr
    // keeps one write position for all its encoders, so encodeInto must move it away).
    const before = target.slice();
    encode({ other: new Float32Array(10_000) });
    encodeInto({ other: 1 }, new Uint8Array(64 * 1024));
    expect(target.slice()).toEqual(before);
    const small = new Uint8Array(4096);
    const grown = encodeInto(value, small);
    expect(grown.buffer).not.toBe(small.buffer);
    expect(Uint8Array.from(grown)).toEqual(expected);
  });

  it("finds non-finite values", () => {
    expect(firstNonFinite(new Float32Array([1, 2, 3]))).toBe(-1);
    expect(firstNonFinite(new Float32Array([1, NaN, 3]))).toBe(1);
    expect(firstNonFinite(new Float32Array([1, 2, -Infinity]))).toBe(2);
    expect(firstNonFinite(new Float32Array(0))).toBe(-1);
    // Every position of the unrolled loop and of its tail, and the extremes that are still finite.
    for (const length of [7, 8, 9, 16, 23]) {
      for (let at = 0; at < length; at++) {
        for (const bad of [NaN, Infinity, -Infinity]) {
          const data = new Float32Array(length).fill(1.5);
          data[at] = bad;
          expect(firstNonFinite(data)).toBe(at);
        }
      }
    }
    expect(firstNonFinite(new Float32Array([3.4028234e38, -3.4028234e38, 1.4e-45, -0, 0, 1, 2, 3, 4]))).toBe(-1);
    expect(firstNonFinite(new Float64Array([Number.MAX_VALUE, -Number.MAX_VALUE, 5e-324, 0, 1, 2, 3, 4, 5]))).toBe(-1);
  });
});

describe("gradients request schema", () => {
  it("decodes a valid request with defaults filled in and the parsed model spec", () => {
    const { request, plan: p } = decodeGradientsRequest(encode(valid()));
    expect(request.deterministic).toBe(false);
    expect(request.model).toEqual(plan.spec);
    expect(p.parameterCount).toBe(plan.parameterCount);
    expect(request.parameters["dense0.W"].data).toEqual(params["dense0.W"]);
  });

  it.each([
    ["wrong protocol", (r: any) => (r.protocol = 2), "unsupported_protocol", "protocol"],
    ["missing protocol", (r: any) => delete r.protocol, "unsupported_protocol", "protocol"],
    ["missing field", (r: any) => delete r.seed, "invalid_field", "seed"],
    ["unknown field", (r: any) => (r.sed = 1), "invalid_field", "sed"],
    ["wrong type", (r: any) => (r.chunkSize = "4"), "invalid_field", "chunkSize"],
    ["negative step", (r: any) => (r.step = -1), "invalid_field", "step"],
    ["non-integer seed", (r: any) => (r.seed = 1.5), "invalid_field", "seed"],
    ["data of the wrong type", (r: any) => (r.parameters["dense0.W"].data = new Float64Array(48)), "invalid_field", "parameters.dense0.W.data"],
    ["data as a plain array", (r: any) => (r.parameters["dense0.W"].data = Array(48).fill(0)), "invalid_field", "parameters.dense0.W.data"],
    ["data shorter than its shape", (r: any) => (r.parameters["dense0.W"].shape = [6, 9]), "invalid_field", "parameters.dense0.W.data"],
    ["NaN parameter", (r: any) => (r.parameters["dense0.W"].data = params["dense0.W"].map((x, i) => (i === 5 ? NaN : x))), "invalid_field", "parameters.dense0.W.data"],
    ["Infinity input", (r: any) => (r.inputs.data = batch.inputs.map((x, i) => (i === 7 ? Infinity : x))), "invalid_field", "inputs.data"],
    ["wrong dtype", (r: any) => (r.indices.dtype = "float32"), "invalid_field", "indices.dtype"],
    ["unknown tensor field", (r: any) => (r.inputs.strides = [1]), "invalid_field", "inputs.strides"],
    ["negative dimension", (r: any) => (r.inputs.shape = [-10, -6]), "invalid_field", "inputs.shape[0]"],
    ["unknown backend", (r: any) => (r.backend = "cuda"), "invalid_field", "backend"],
    ["model not a map", (r: any) => (r.model = [1]), "invalid_field", "model"],
    ["invalid layer", (r: any) => (r.model = { ...spec, layers: [{ type: "dense", units: 0 }] }), "invalid_field", "model.layers[0].units"],
    ["huge layer", (r: any) => (r.model = { ...spec, layers: [{ type: "dense", units: 1e6 }, { type: "dense", units: 3 }] }), "invalid_field", "model.layers[0].units"],
    ["missing parameter", (r: any) => delete r.parameters["dense4.b"], "invalid_field", "parameters.dense4.b"],
    ["extra parameter", (r: any) => (r.parameters["dense9.W"] = r.parameters["dense4.b"]), "invalid_field", "parameters.dense9.W"],
    ["parameter of another shape", (r: any) => (r.parameters["dense0.W"].shape = [8, 6]), "invalid_field", "parameters.dense0.W.shape"],
    ["input width", (r: any) => (r.inputs.shape = [6, 10]), "invalid_field", "inputs.shape"],
    ["label out of range", (r: any) => (r.labels.data = Int32Array.from(batch.labels, (l, i) => (i === 2 ? 3 : l))), "invalid_field", "labels.data"],
    ["float labels for softmax", (r: any) => (r.labels = { shape: [10, 3], dtype: "float32", data: new Float32Array(30) }), "invalid_field", "labels"],
    ["indices of another length", (r: any) => (r.indices = { shape: [9], dtype: "int32", data: new Int32Array(9) }), "invalid_field", "indices.shape"],
    ["negative index", (r: any) => (r.indices.data = new Int32Array(10).fill(-1)), "invalid_field", "indices.data"],
    ["deterministic without layout", (r: any) => (r.deterministic = true), "invalid_field", "firstChunk"],
    ["shard past the batch", (r: any) => Object.assign(r, { deterministic: true, firstChunk: 2, totalChunks: 4 }), "invalid_field", "totalChunks"],
    ["a batch of 2^40 chunks", (r: any) => Object.assign(r, { deterministic: true, firstChunk: 2 ** 40 - 3, totalChunks: 2 ** 40 }), "invalid_field", "firstChunk"],
    ["partial chunk in the middle", (r: any) => Object.assign(r, { deterministic: true, firstChunk: 0, totalChunks: 5 }), "invalid_field", "inputs.shape"],
  ])("rejects %s naming the field", (_, edit, code, field) => {
    const error = errorOf(edit);
    expect(error.code).toBe(code);
    expect(error.field).toBe(field);
    expect(error.message).toContain(`'${field}'`);
  });

  it("enforces the shard limits", () => {
    const examples = errorOf(() => {}, { ...DEFAULT_WORKER_LIMITS, maxExamples: 9 });
    expect([examples.code, examples.field]).toEqual(["limit_exceeded", "inputs.shape"]);
    const activations = errorOf(() => {}, { ...DEFAULT_WORKER_LIMITS, maxActivations: 100 });
    expect([activations.code, activations.field]).toEqual(["limit_exceeded", "inputs.shape"]);
    const gradients = errorOf((r) => (r.chunkSize = 1), { ...DEFAULT_WORKER_LIMITS, maxChunkGradients: 9 * plan.parameterCount });
    expect([gradients.code, gradients.field]).toEqual(["limit_exceeded", "chunkSize"]);
    const units = errorOf(() => {}, { ...DEFAULT_WORKER_LIMITS, maxUnits: 4 });
    expect(units.field).toBe("model.layers[0].units");
  });

  it("rejects bodies that are not a MessagePack map", () => {
    for (const bytes of [new Uint8Array(0), new Uint8Array([0xc1]), encode([1, 2]), encode("x"), encode(new Float32Array(3)), new Uint8Array([0x81, 0xa8])]) {
      expect(() => decodeGradientsRequest(bytes)).toThrow(WireError);
    }
  });
});

describe("evaluate request and replies", () => {
  it("requires the batch-norm state of a model with batch norm", () => {
    const request = evaluateRequest(plan, spec, params, initBatchNormState(plan), batch, { chunkSize: 4 }) as Record<string, any>;
    expect(decodeEvaluateRequest(encode(request)).request.outputs).toBe(false);
    delete request.batchNorm;
    expect(() => decodeEvaluateRequest(encode(request))).toThrow(expect.objectContaining({ field: "batchNorm" }));
  });

  it("reads replies leniently (unknown fields dropped) but checks what it uses", () => {
    const reply = {
      protocol: 1, backend: "wasm", count: 4, lossSum: NaN, correct: 1,
      chunks: { count: { shape: [1], dtype: "int32", data: new Int32Array([4]) }, loss: { shape: [1], dtype: "float64", data: new Float64Array([NaN]) }, correct: { shape: [1], dtype: "int32", data: new Int32Array([1]) } },
      gradients: { "dense0.W": { shape: [2], dtype: "float32", data: new Float32Array([Infinity, 1]) } },
      batchNorm: {},
      timing: { readMs: 0, verifyMs: 0, decodeMs: 0, queueMs: 0, computeMs: 1, encodeMs: 0.5 },
      addedLater: "ignored",
    };
    const back = decodeGradientsResponse(encode(reply));
    expect(back.lossSum).toBeNaN();
    expect("addedLater" in back).toBe(false);
    expect(() => validateMessage(GradientsResponseSchema, { ...reply, count: -1 }, "reply")).toThrow(expect.objectContaining({ field: "count" }));
  });
});
