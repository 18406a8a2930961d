// Replays at the worker: a signature it has served once is a 401 `replayed`, with or without a
// nonce; the nonce is covered by the signature; a signed GET /v1/health proves the secret; the
// replay cache's memory is bounded and its entries leave with the ±60 s window.
import { createHash, createHmac } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { initParameters } from "../../core/model/parameters.ts";
import { parseModelSpec, planModel } from "../../core/model/spec.ts";
import { useBackend } from "../../core/tf.ts";
import { encode } from "../../core/wire/codec.ts";
import { NONCE_HEADER, newNonce, SIGNATURE_HEADER, signRequest, signRequestWith, TIMESTAMP_HEADER } from "../../core/wire/signing.ts";
import { createApp } from "../../edge-functions/app.ts";
import { ReplayCache } from "../../edge-functions/replay-cache.ts";
import { randomBatch } from "../helpers/batches.ts";
import { gradientsRequest } from "../helpers/wire-fixtures.ts";

const SECRET = "replay-test-secret-0123456789";
const BASE = "http://worker.test";
const NOW = 1_750_000_000_000;
const spec = { input: [3], layers: [{ type: "dense", units: 4 }, { type: "relu" }, { type: "dense", units: 2 }], output: "softmax" };
const plan = planModel(parseModelSpec(spec));
const body = encode(gradientsRequest(plan, spec, initParameters(plan, 3), randomBatch(plan, 4, 1), { chunkSize: 2, step: 0, seed: 0 })).slice();

let clock = NOW;
const app = createApp({ runtime: "test", secret: SECRET, now: () => clock });

function post(headers: Record<string, string>): Promise<Response> {
  return Promise.resolve(app.request(new Request(new URL("/v1/gradients", BASE), { method: "POST", body: body as Uint8Array<ArrayBuffer>, headers })));
}

async function errorOf(response: Response): Promise<{ status: number; code: string; message: string }> {
  const { error } = (await response.json()) as { error: { code: string; message: string } };
  return { status: response.status, ...error };
}

beforeAll(() => useBackend("wasm"));

describe("replayed requests", () => {
  it("serves a signed request once: the same signature again is a 401 replayed, even concurrently", async () => {
    clock = NOW;
    const signed = { ...(await signRequest(SECRET, { method: "POST", path: "/v1/gradients", body, now: NOW })) };
    expect((await post(signed)).status).toBe(200);
    clock = NOW + 30_000;
    expect(await errorOf(await post(signed))).toMatchObject({ status: 401, code: "replayed", message: expect.stringMatching(/already used/) });
    // Two copies verified at the same time: exactly one is served.
    const fresh = { ...(await signRequest(SECRET, { method: "POST", path: "/v1/gradients", body, now: NOW + 1_000 })) };
    const statuses = (await Promise.all([post(fresh), post(fresh)])).map((r) => r.status).sort();
    expect(statuses).toEqual([200, 401]);
  });

  it("tells sends of one body apart by their nonce, which the signature covers", async () => {
    clock = NOW + 5_000;
    const sign = (nonce: string) => signRequest(SECRET, { method: "POST", path: "/v1/gradients", body, now: clock, nonce });
    const first = { ...(await sign(newNonce())) };
    const second = { ...(await sign(newNonce())) };
    expect(first[NONCE_HEADER]).toMatch(/^[0-9a-f]{32}$/);
    expect(first[SIGNATURE_HEADER]).not.toBe(second[SIGNATURE_HEADER]);
    expect((await post(first)).status).toBe(200);
    expect((await post(second)).status).toBe(200);
    // Another nonce does not verify: it is part of what is signed.
    const third = { ...(await sign(newNonce())) };
    expect(await errorOf(await post({ ...third, [NONCE_HEADER]: newNonce() }))).toMatchObject({ status: 401, code: "unauthorized", message: expect.stringMatching(/does not match/) });
    expect(await errorOf(await post({ ...third, [NONCE_HEADER]: "xyz" }))).toMatchObject({ status: 401, message: expect.stringMatching(/malformed x-edgeprop-nonce/) });
    expect((await post(third)).status).toBe(200);
    // The coordinator's synchronous signer signs the same six lines.
    const nonce = newNonce();
    const digest = createHash("sha256").update(body).digest("hex");
    const oracle = createHmac("sha256", SECRET).update(`EDGEPROP-HMAC-SHA256\nPOST\n/v1/gradients\n${Math.floor(clock / 1000)}\n${digest}\n${nonce}`).digest("hex");
    const sync = signRequestWith((text) => createHmac("sha256", SECRET).update(text).digest("hex"), { method: "POST", path: "/v1/gradients", digest, now: clock, nonce });
    expect(sync).toEqual({ [TIMESTAMP_HEADER]: String(Math.floor(clock / 1000)), [SIGNATURE_HEADER]: oracle, [NONCE_HEADER]: nonce });
    expect((await post({ ...sync })).status).toBe(200);
  });

  it("verifies a signed GET /v1/health (authenticated: true), refuses a wrong secret or a replay, and leaves unsigned health open", async () => {
    clock = NOW;
    const health = async (headers: Record<string, string>) => app.request(new Request(new URL("/v1/health", BASE), { headers }));
    const unsigned = await health({});
    expect(unsigned.status).toBe(200);
    expect(await unsigned.json()).toMatchObject({ auth: "hmac-sha256", authenticated: false });
    const signed = { ...(await signRequest(SECRET, { method: "GET", path: "/v1/health", body: new Uint8Array(0), now: NOW, nonce: newNonce() })) };
    const verified = await health(signed);
    expect(verified.status).toBe(200);
    expect(await verified.json()).toMatchObject({ authenticated: true });
    expect(await errorOf(await health(signed))).toMatchObject({ status: 401, code: "replayed" });
    const wrong = { ...(await signRequest("another-secret-0123456789", { method: "GET", path: "/v1/health", body: new Uint8Array(0), now: NOW, nonce: newNonce() })) };
    expect(await errorOf(await health(wrong))).toMatchObject({ status: 401, code: "unauthorized", message: expect.stringMatching(/does not match/) });
  });
});

describe("ReplayCache", () => {
  it("forgets a signature once its window has passed, and never holds more than its capacity", () => {
    const cache = new ReplayCache(100);
    expect(cache.accept("a", 1_000, 0)).toBe(true);
    expect(cache.accept("a", 1_000, 500)).toBe(false);
    expect(cache.has("a", 1_000)).toBe(true);
    expect(cache.has("a", 1_001)).toBe(false);
    // Past its window the entry is dropped when the next one arrives.
    expect(cache.accept("b", 3_000, 2_000)).toBe(true);
    expect(cache.size).toBe(1);
    for (let i = 0; i < 1_000; i++) cache.accept(`s${i}`, 10_000, 2_500);
    expect(cache.size).toBe(100);
    // The newest are kept, the oldest forgotten (best effort).
    expect(cache.has("s999", 2_500)).toBe(true);
    expect(cache.has("s0", 2_500)).toBe(false);
    expect(() => new ReplayCache(0)).toThrow(/'capacity' must be a positive integer, current value is 0/);
  });
});
