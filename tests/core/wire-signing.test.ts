import { createHash, createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  bodyDigest,
  canonicalString,
  constantTimeEqual,
  importSigningKey,
  precheckSignature,
  SIGNATURE_HEADER,
  signRequest,
  signRequestWith,
  TIMESTAMP_HEADER,
  verifyRequest,
} from "../../core/wire/signing.ts";

const secret = "0123456789abcdef-secret";
// MessagePack of {protocol: 1}: fixmap(1), fixstr(8) "protocol", positive fixint 1.
const body = new Uint8Array([0x81, 0xa8, ...new TextEncoder().encode("protocol"), 0x01]);
const now = 1_700_000_000_000;

function headersOf(h: Record<string, string>) {
  return new Headers(h);
}

describe("request signing (HMAC-SHA256 over method, path, timestamp, body digest)", () => {
  it("matches a known answer computed with Python's hmac/hashlib", async () => {
    // python3: d = sha256(body).hexdigest(); hmac.new(secret, f"EDGEPROP-HMAC-SHA256\nPOST\n/v1/gradients\n1700000000\n{d}", sha256)
    expect(await bodyDigest(body)).toBe("49bb805c761c952dfe414140dd06e0fb7365a7dfd297db6d47410b2a26992074");
    expect(await bodyDigest(new Uint8Array(0))).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const headers = await signRequest(secret, { method: "post", path: "/v1/gradients", body, now });
    expect(headers).toEqual({
      [TIMESTAMP_HEADER]: "1700000000",
      [SIGNATURE_HEADER]: "f895383ac29c4852e47748ddaae8a122ff03726dd23c7674cead122d6fe1dabb",
    });
  });

  it("matches node:crypto createHmac on random bodies, paths and times", async () => {
    const key = await importSigningKey(secret);
    for (let i = 0; i < 20; i++) {
      const bytes = new Uint8Array(i * 997).map((_, j) => (j * 31 + i) & 255);
      const path = i % 2 ? "/v1/evaluate" : "/v1/gradients?x=1";
      const t = now + i * 123_457;
      const digest = createHash("sha256").update(bytes).digest("hex");
      const oracle = createHmac("sha256", secret)
        .update(`EDGEPROP-HMAC-SHA256\nPOST\n${path}\n${Math.floor(t / 1000)}\n${digest}`)
        .digest("hex");
      const headers = await signRequest(i % 3 ? key : secret, { method: "POST", path, body: bytes, now: t });
      expect(headers[SIGNATURE_HEADER]).toBe(oracle);
    }
    expect(canonicalString("get", "/p", "1", "ab")).toBe("EDGEPROP-HMAC-SHA256\nGET\n/p\n1\nab");
  });

  it("signs the same with a synchronous HMAC (signRequestWith, as the worker pool does), and the worker accepts it", async () => {
    const hmac = (text: string) => createHmac("sha256", secret).update(text).digest("hex");
    const digest = createHash("sha256").update(body).digest("hex");
    const sync = signRequestWith(hmac, { method: "post", path: "/v1/gradients", digest, now });
    expect(sync).toEqual(await signRequest(secret, { method: "post", path: "/v1/gradients", body, now }));
    expect(sync[SIGNATURE_HEADER]).toBe("f895383ac29c4852e47748ddaae8a122ff03726dd23c7674cead122d6fe1dabb");
    const verdict = await verifyRequest(secret, { method: "POST", path: "/v1/gradients", body, headers: headersOf({ ...sync }), now: now + 1_000 });
    expect(verdict).toEqual({ ok: true });
    // Another digest signs differently: the body is covered.
    expect(signRequestWith(hmac, { method: "POST", path: "/v1/gradients", digest: digest.replace(/^./, (c) => (c === "0" ? "1" : "0")), now })[SIGNATURE_HEADER])
      .not.toBe(sync[SIGNATURE_HEADER]);
  });

  it("verifies its own signatures and rejects tampering, expiry and malformed headers", async () => {
    const signed = await signRequest(secret, { method: "POST", path: "/v1/gradients", body, now });
    const verify = (over: Partial<{ body: Uint8Array; path: string; method: string; now: number; headers: Record<string, string> }> = {}) =>
      verifyRequest(secret, {
        method: over.method ?? "POST",
        path: over.path ?? "/v1/gradients",
        body: over.body ?? body,
        now: over.now ?? now,
        headers: headersOf(over.headers ?? { ...signed }),
      });
    expect(await verify()).toEqual({ ok: true });
    expect(await verify({ now: now + 60_000 })).toEqual({ ok: true });
    expect(await verify({ now: now - 60_000 })).toEqual({ ok: true });
    expect(await verify({ body: body.map((b, i) => (i === 3 ? b ^ 1 : b)) })).toMatchObject({ ok: false, reason: "signature does not match" });
    expect(await verify({ path: "/v1/evaluate" })).toMatchObject({ ok: false });
    expect(await verify({ method: "PUT" })).toMatchObject({ ok: false });
    expect(await verify({ now: now + 61_000 })).toMatchObject({ ok: false, reason: expect.stringContaining("61 s old") });
    expect(await verify({ now: now - 61_000 })).toMatchObject({ ok: false, reason: expect.stringContaining("in the future") });
    expect(await verify({ headers: { [TIMESTAMP_HEADER]: signed[TIMESTAMP_HEADER] } })).toMatchObject({ ok: false, reason: `missing ${SIGNATURE_HEADER} header` });
    expect(await verify({ headers: { ...signed, [SIGNATURE_HEADER]: signed[SIGNATURE_HEADER].toUpperCase() } })).toMatchObject({ ok: false, reason: expect.stringContaining("malformed") });
    expect(await verify({ headers: { ...signed, [TIMESTAMP_HEADER]: "-5" } })).toMatchObject({ ok: false, reason: expect.stringContaining("malformed") });
    const other = await signRequest("another-secret-of-16+", { method: "POST", path: "/v1/gradients", body, now });
    expect(await verify({ headers: { ...other } })).toMatchObject({ ok: false, reason: "signature does not match" });
    expect(precheckSignature(headersOf({ ...signed }), now)).toBeNull();
  });

  it("compares in constant time over equal-length strings", () => {
    expect(constantTimeEqual("abc", "abc")).toBe(true);
    expect(constantTimeEqual("abc", "abd")).toBe(false);
    expect(constantTimeEqual("abc", "ab")).toBe(false);
  });
});
