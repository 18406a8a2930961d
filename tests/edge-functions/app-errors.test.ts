// Every way a request can be wrong, in process: each answer is the documented status with a JSON
// error naming the field, no tensor leaks, and the worker still computes afterwards.
import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../edge-functions/app.ts";
import { initParameters } from "../../core/model/parameters.ts";
import { parseModelSpec, planModel } from "../../core/model/spec.ts";
import { tf, useBackend } from "../../core/tf.ts";
import { encode } from "../../core/wire/codec.ts";
import { ErrorBodySchema } from "../../core/wire/messages.ts";
import { newNonce, signRequest } from "../../core/wire/signing.ts";
import * as v from "valibot";
import { randomBatch } from "../helpers/batches.ts";
import { postMessage, signedRequest } from "../helpers/worker-client.ts";
import { within } from "../helpers/wait.ts";
import { gradientsRequest } from "../helpers/wire-fixtures.ts";

const SECRET = "errors-test-secret-0123456789";
const BASE = "http://worker.test";
const spec = { input: [5], layers: [{ type: "dense", units: 6 }, { type: "relu" }, { type: "dense", units: 3 }], output: "softmax" };
const plan = planModel(parseModelSpec(spec));
const params = initParameters(plan, 2);
const batch = randomBatch(plan, 8, 4);
const valid = () => gradientsRequest(plan, spec, params, batch, { chunkSize: 4, step: 1, seed: 1 }) as Record<string, any>;

const app = createApp({ runtime: "test", secret: SECRET, limits: { maxBodyBytes: 64 * 1024 } });
const send = (r: Request) => app.request(r);

async function errorOf(response: Response) {
  expect(response.headers.get("content-type")).toMatch(/^application\/json/);
  return v.parse(ErrorBodySchema, await response.json()).error;
}

async function expectError(response: Response, status: number, code: string, field?: string) {
  expect(response.status).toBe(status);
  const error = await errorOf(response);
  expect(error.code).toBe(code);
  if (field !== undefined) {
    expect(error.field).toBe(field);
    expect(error.message).toContain(`'${field}'`);
  }
  return error;
}

async function postBytes(body: Uint8Array, path = "/v1/gradients") {
  return send(await signedRequest(BASE, path, body, { secret: SECRET }));
}

beforeAll(() => useBackend("wasm"));

describe("400: bodies and fields", () => {
  it.each([
    ["an empty body", new Uint8Array(0)],
    ["invalid MessagePack", new Uint8Array([0xc1, 0xc1])],
    ["truncated MessagePack", encode(valid()).slice(0, 200)],
    ["a MessagePack array", encode([1, 2, 3])],
    ["a bare typed array", encode(new Float32Array(4))],
    ["JSON", new TextEncoder().encode('{"protocol":1}')],
  ])("rejects %s", async (_, body) => {
    const response = await postBytes(body);
    expect(response.status).toBe(400);
    expect(["invalid_body", "invalid_field", "unsupported_protocol"]).toContain((await errorOf(response)).code);
  });

  it.each([
    ["wrong protocol", (r: any) => (r.protocol = 2), "unsupported_protocol", "protocol"],
    ["wrong type", (r: any) => (r.step = "1"), "invalid_field", "step"],
    ["missing field", (r: any) => delete r.inputs, "invalid_field", "inputs"],
    ["unknown field", (r: any) => (r.learningRate = 0.1), "invalid_field", "learningRate"],
    ["non-finite parameter", (r: any) => (r.parameters["dense0.W"].data = new Float32Array(30).fill(NaN)), "invalid_field", "parameters.dense0.W.data"],
    ["non-finite input", (r: any) => (r.inputs.data = batch.inputs.map((x, i) => (i === 3 ? -Infinity : x))), "invalid_field", "inputs.data"],
    ["huge layer", (r: any) => (r.model = { ...spec, layers: [{ type: "dense", units: 5000 }, { type: "dense", units: 3 }] }), "invalid_field", "model.layers[0].units"],
    ["too many parameters", (r: any) => (r.model = { input: [4000], layers: [{ type: "dense", units: 4000 }, { type: "dense", units: 3 }], output: "softmax" }), "invalid_field", "model"],
    ["mismatched parameter shape", (r: any) => (r.parameters["dense0.W"].shape = [6, 5]), "invalid_field", "parameters.dense0.W.shape"],
  ])("rejects %s naming the field", async (_, edit, code, field) => {
    const request = valid();
    edit(request);
    await expectError(await postMessage(send, BASE, "/v1/gradients", request, { secret: SECRET }), 400, code, field);
  });

  it("rejects a shard over the worker's example limit", async () => {
    const small = createApp({ runtime: "test", secret: SECRET, limits: { maxExamples: 4 } });
    const response = await postMessage((r) => small.request(r), BASE, "/v1/gradients", valid(), { secret: SECRET });
    await expectError(response, 400, "limit_exceeded", "inputs.shape");
  });
});

describe("413: oversized bodies", () => {
  it("refuses a declared Content-Length over the limit before reading", async () => {
    const body = new Uint8Array(64 * 1024 + 1);
    const error = await expectError(await postBytes(body), 413, "payload_too_large");
    expect(error.message).toContain("65537 bytes");
  });

  it("rejects a body whose length is not the declared Content-Length", async () => {
    const headers = await signRequest(SECRET, { method: "POST", path: "/v1/gradients", body: new Uint8Array(20), nonce: newNonce() });
    const request = new Request(`${BASE}/v1/gradients`, { method: "POST", body: new Uint8Array(20), headers: { ...headers, "content-length": "10" } });
    await expectError(await send(request), 400, "invalid_body");
  });

  it("cuts off a streamed body without Content-Length as soon as it passes the limit", async () => {
    let pulled = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        if (pulled > 1000) controller.close();
        else controller.enqueue(new Uint8Array(16 * 1024));
      },
    });
    const headers = await signRequest(SECRET, { method: "POST", path: "/v1/gradients", body: new Uint8Array(0), nonce: newNonce() });
    const request = new Request(`${BASE}/v1/gradients`, { method: "POST", body: stream, headers: { ...headers }, duplex: "half" } as RequestInit);
    await expectError(await send(request), 413, "payload_too_large");
    expect(pulled).toBeLessThan(10);
  });
});

describe("409, 404, 405, 503", () => {
  it("409 names a backend the runtime lacks and what it has", async () => {
    const request = valid();
    request.backend = "webgpu"; // Node has no navigator.gpu
    const error = await expectError(await postMessage(send, BASE, "/v1/gradients", request, { secret: SECRET }), 409, "backend_unavailable", "backend");
    expect(error.message).toMatch(/'webgpu', which this worker.*does not have; it has 'wasm', 'cpu'/);
  });

  it("404 and 405 as JSON", async () => {
    await expectError(await app.request("/v1/nope"), 404, "not_found");
    const r = await app.request("/v1/gradients");
    await expectError(r, 405, "method_not_allowed");
    expect(r.headers.get("allow")).toBe("POST");
    await expectError(await app.request("/v1/health", { method: "POST" }), 405, "method_not_allowed");
  });

  it("503 when more than maxInFlight requests are held", async () => {
    const busy = createApp({ runtime: "test", secret: SECRET, limits: { maxInFlight: 1 } });
    // A body that never ends holds the first request in its read; the read's first pull says it is
    // held (highWaterMark 0: nothing is pulled before the app reads).
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    let reading!: () => void;
    const held = new Promise<void>((resolve) => (reading = resolve));
    const stream = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c), pull: () => reading() }, { highWaterMark: 0 });
    const headers = await signRequest(SECRET, { method: "POST", path: "/v1/gradients", body: new Uint8Array(0), nonce: newNonce() });
    const stuck = busy.request(new Request(`${BASE}/v1/gradients`, { method: "POST", body: stream, headers: { ...headers }, duplex: "half" } as RequestInit));
    await within(held, "the first request to read its body");
    const response = await postMessage((r) => busy.request(r), BASE, "/v1/gradients", valid(), { secret: SECRET });
    await expectError(response, 503, "overloaded");
    expect(response.headers.get("retry-after")).toBe("1");
    controller.close(); // the held request ends (an empty body: 400)
    expect((await stuck).status).toBe(400);
  });
});

describe("no state is damaged by bad requests", () => {
  it("leaks no tensors and still computes after every error above", async () => {
    const before = tf.memory().numTensors;
    for (const body of [new Uint8Array([0x90]), encode({ ...valid(), chunkSize: 0 }), encode({ ...valid(), backend: "webgpu" })]) {
      expect((await postBytes(body)).status).toBeGreaterThanOrEqual(400);
    }
    const ok = await postMessage(send, BASE, "/v1/gradients", valid(), { secret: SECRET });
    expect(ok.status).toBe(200);
    await ok.arrayBuffer();
    expect(tf.memory().numTensors).toBe(before);
  });
});
