// Request signing at the worker: missing, wrong, expired and replayed-with-another-body signatures
// are 401 before anything is computed; a valid signature within ±60 s passes.
import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../edge-functions/app.ts";
import { initParameters } from "../../core/model/parameters.ts";
import { parseModelSpec, planModel } from "../../core/model/spec.ts";
import { useBackend } from "../../core/tf.ts";
import { encode } from "../../core/wire/codec.ts";
import { SIGNATURE_HEADER, signRequest, TIMESTAMP_HEADER } from "../../core/wire/signing.ts";
import { randomBatch } from "../helpers/batches.ts";
import { signedRequest } from "../helpers/worker-client.ts";
import { gradientsRequest } from "../helpers/wire-fixtures.ts";

const SECRET = "signing-test-secret-0123456789";
const BASE = "http://worker.test";
const NOW = 1_750_000_000_000;
const spec = { input: [3], layers: [{ type: "dense", units: 4 }, { type: "relu" }, { type: "dense", units: 2 }], output: "softmax" };
const plan = planModel(parseModelSpec(spec));
const params = initParameters(plan, 3);
const body = encode(gradientsRequest(plan, spec, params, randomBatch(plan, 4, 1), { chunkSize: 2, step: 0, seed: 0 })).slice();
const otherBody = encode(gradientsRequest(plan, spec, params, randomBatch(plan, 4, 2), { chunkSize: 2, step: 0, seed: 0 })).slice();

let clock = NOW;
const app = createApp({ runtime: "test", secret: SECRET, now: () => clock });

function post(bytes: Uint8Array, headers: Record<string, string>, path = "/v1/gradients"): Promise<Response> {
  return Promise.resolve(app.request(new Request(new URL(path, BASE), { method: "POST", body: bytes as Uint8Array<ArrayBuffer>, headers })));
}

async function expect401(response: Response, reason: RegExp) {
  expect(response.status).toBe(401);
  const { error } = (await response.json()) as { error: { code: string; message: string } };
  expect(error.code).toBe("unauthorized");
  expect(error.message).toMatch(reason);
}

beforeAll(() => useBackend("wasm"));

describe("signed requests", () => {
  it("accepts a valid signature anywhere in the ±60 s window", async () => {
    for (const skew of [0, -60_000, 59_000]) {
      clock = NOW;
      const request = await signedRequest(BASE, "/v1/gradients", body, { secret: SECRET, now: NOW + skew });
      const response = await app.request(request);
      expect(response.status, await response.clone().text()).toBe(200);
    }
  });

  it("rejects a missing signature", async () => {
    clock = NOW;
    await expect401(await post(body, {}), /missing x-edgeprop-timestamp/);
    const signed = await signRequest(SECRET, { method: "POST", path: "/v1/gradients", body, now: NOW });
    await expect401(await post(body, { [TIMESTAMP_HEADER]: signed[TIMESTAMP_HEADER] }), /missing x-edgeprop-signature/);
  });

  it("rejects a wrong signature: another secret, another path, a malformed one", async () => {
    clock = NOW;
    await expect401(await post(body, { ...(await signRequest("not-the-secret-0123456789", { method: "POST", path: "/v1/gradients", body, now: NOW })) }), /does not match/);
    await expect401(await post(body, { ...(await signRequest(SECRET, { method: "POST", path: "/v1/evaluate", body, now: NOW })) }), /does not match/);
    await expect401(await post(body, { [TIMESTAMP_HEADER]: String(NOW / 1000), [SIGNATURE_HEADER]: "zz" }), /malformed/);
  });

  it("rejects an expired or future timestamp", async () => {
    const signed = await signRequest(SECRET, { method: "POST", path: "/v1/gradients", body, now: NOW });
    clock = NOW + 61_000;
    await expect401(await post(body, { ...signed }), /61 s old/);
    clock = NOW - 120_000;
    await expect401(await post(body, { ...signed }), /in the future/);
  });

  it("rejects a replayed signature with another body", async () => {
    clock = NOW;
    const signed = await signRequest(SECRET, { method: "POST", path: "/v1/gradients", body, now: NOW });
    await expect401(await post(otherBody, { ...signed }), /does not match/);
    // A single flipped byte is enough.
    await expect401(await post(body.map((b, i) => (i === body.length - 1 ? b ^ 1 : b)), { ...signed }), /does not match/);
  });

  it("answers 401 (not 400) for an unsigned body that is also malformed", async () => {
    clock = NOW;
    await expect401(await post(new Uint8Array([0xc1]), {}), /missing/);
    const signed = await signRequest("not-the-secret-0123456789", { method: "POST", path: "/v1/gradients", body: new Uint8Array([0xc1]), now: NOW });
    await expect401(await post(new Uint8Array([0xc1]), { ...signed }), /does not match/);
  });

  it("leaves GET /v1/health open (probes and the coordinator's pool read it unsigned)", async () => {
    expect((await app.request("/v1/health")).status).toBe(200);
  });
});
