/**
 * The pool's HTTP client against a real node:http server on loopback: bodies arrive intact in
 * both directions, connections are kept alive, reply buffers are reused only after release (and
 * never shared by replies in flight), and aborts, truncated replies and oversized replies fail
 * instead of hanging or buffering without bound.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import net, { type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpTransport, ReplyTooLarge } from "../../coordinator/pool/http-transport.ts";
import { Domain, Rng } from "../../core/random.ts";
import { COORDINATOR_DENO_PERMISSIONS } from "../../deploy/local-cluster.ts";
import { denoBin, runCommand } from "../helpers/processes.ts";

/** The reply to a request body: its bytes reversed and xor-ed with 0x5a, repeated `times`. */
function expectedReply(body: Uint8Array, times: number): Uint8Array {
  const out = new Uint8Array(body.length * times);
  for (let t = 0; t < times; t++) for (let i = 0; i < body.length; i++) out[t * body.length + i] = body[body.length - 1 - i] ^ 0x5a;
  return out;
}

/** Seeded random bytes (the project's Philox generator). */
function pattern(length: number, seed: number): Uint8Array {
  const rng = new Rng(seed, Domain.test);
  return Uint8Array.from({ length }, () => rng.int(256));
}

let server: http.Server;
let base: string;
let connections = 0;
const stalled = new Set<http.ServerResponse>();

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url!, "http://x");
      const body = new Uint8Array(Buffer.concat(chunks));
      switch (url.pathname) {
        case "/echo": {
          const reply = expectedReply(body, Number(url.searchParams.get("times") ?? 1));
          // Half the replies without Content-Length (chunked), so both read paths are exercised.
          if (url.searchParams.has("chunked")) res.writeHead(200, { "content-type": "application/octet-stream" });
          else res.writeHead(200, { "content-type": "application/octet-stream", "content-length": reply.length });
          res.end(reply);
          return;
        }
        case "/status":
          res.writeHead(Number(url.searchParams.get("code")), { "content-type": "application/json" }).end('{"error":{"code":"x","message":"told to fail"}}');
          return;
        case "/stall":
          stalled.add(res);
          res.writeHead(200, { "content-length": "10" });
          res.write("12345");
          return;
        case "/truncated":
          res.writeHead(200, { "content-length": "100000" });
          res.write(new Uint8Array(1000), () => res.destroy());
          return;
        case "/truncated-chunked":
          // Workers send chunked replies: only the missing last chunk tells that one was cut.
          res.writeHead(200);
          res.write(new Uint8Array(1000), () => res.destroy());
          return;
        case "/huge-declared":
          res.writeHead(200, { "content-length": String(10 * 2 ** 20) }).end();
          return;
        case "/huge-chunked": {
          res.writeHead(200);
          const piece = new Uint8Array(256 * 1024);
          let sent = 0;
          const more = () => {
            while (sent < 8 * 2 ** 20) {
              sent += piece.length;
              if (!res.write(piece)) return res.once("drain", more);
            }
            res.end();
          };
          more();
          return;
        }
        default:
          res.writeHead(404).end();
      }
    });
  });
  server.on("connection", () => connections++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const res of stalled) res.destroy();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const post = (body: Uint8Array, signal = new AbortController().signal) => ({ method: "POST" as const, headers: { "content-type": "application/octet-stream" }, body, signal });

describe("HttpTransport", () => {
  it("carries megabyte bodies both ways intact, with and without Content-Length, on one kept-alive connection", async () => {
    const transport = new HttpTransport();
    const before = connections;
    try {
      for (let i = 0; i < 12; i++) {
        const body = pattern(300_000 + 7919 * i, i + 1);
        const reply = await transport.request(`${base}/echo?times=${1 + (i % 3)}${i % 2 ? "&chunked" : ""}`, post(body));
        expect(reply.status).toBe(200);
        expect(Buffer.from(reply.bytes).equals(Buffer.from(expectedReply(body, 1 + (i % 3))))).toBe(true);
        reply.release();
      }
      expect(connections - before).toBe(1);
    } finally {
      transport.close();
    }
  });

  it("reuses a released reply buffer, and never one that is still held", async () => {
    const transport = new HttpTransport();
    try {
      const a = await transport.request(`${base}/echo`, post(pattern(200_000, 3)));
      const aCopy = a.bytes.slice();
      // Held: the next reply must go elsewhere and leave `a` untouched.
      const b = await transport.request(`${base}/echo`, post(pattern(200_000, 4)));
      expect(b.bytes.buffer).not.toBe(a.bytes.buffer);
      expect(Buffer.from(a.bytes).equals(Buffer.from(aCopy))).toBe(true);
      const aBuffer = a.bytes.buffer;
      a.release();
      a.release(); // twice is harmless: the buffer enters the pool once
      const c = await transport.request(`${base}/echo`, post(pattern(150_000, 5)));
      const d = await transport.request(`${base}/echo`, post(pattern(150_000, 6)));
      expect(c.bytes.buffer).toBe(aBuffer);
      expect(d.bytes.buffer).not.toBe(aBuffer);
      expect(Buffer.from(c.bytes).equals(Buffer.from(expectedReply(pattern(150_000, 5), 1)))).toBe(true);
      for (const r of [b, c, d]) r.release();
    } finally {
      transport.close();
    }
  });

  it("does not keep a huge reply's buffer for reuse", async () => {
    const transport = new HttpTransport();
    try {
      const huge = await transport.request(`${base}/echo?times=66`, post(pattern(2 ** 20, 21)));
      expect(huge.bytes.length).toBe(66 * 2 ** 20);
      const hugeBuffer = huge.bytes.buffer;
      huge.release();
      const small = await transport.request(`${base}/echo`, post(pattern(1000, 22)));
      expect(small.bytes.buffer).not.toBe(hugeBuffer);
      expect(small.bytes.buffer.byteLength).toBeLessThan(2 ** 20);
      small.release();
    } finally {
      transport.close();
    }
  });

  it("keeps the replies of concurrent requests apart", async () => {
    const transport = new HttpTransport();
    try {
      const bodies = Array.from({ length: 6 }, (_, i) => pattern(120_000 + i * 1000, 10 + i));
      const replies = await Promise.all(bodies.map((b, i) => transport.request(`${base}/echo${i % 2 ? "?chunked" : ""}`, post(b))));
      replies.forEach((r, i) => expect(Buffer.from(r.bytes).equals(Buffer.from(expectedReply(bodies[i], 1)))).toBe(true));
      expect(new Set(replies.map((r) => r.bytes.buffer)).size).toBe(replies.length);
      for (const r of replies) r.release();
    } finally {
      transport.close();
    }
  });

  it("passes error statuses and their bodies through", async () => {
    const transport = new HttpTransport();
    try {
      const reply = await transport.request(`${base}/status?code=422`, { method: "GET", headers: {}, signal: new AbortController().signal });
      expect(reply.status).toBe(422);
      expect(JSON.parse(new TextDecoder().decode(reply.bytes)).error.message).toBe("told to fail");
      reply.release();
    } finally {
      transport.close();
    }
  });

  it("rejects at once when aborted mid-reply, and a later request still works", async () => {
    const transport = new HttpTransport();
    try {
      const controller = new AbortController();
      const pending = transport.request(`${base}/stall`, { method: "GET", headers: {}, signal: controller.signal });
      // Abort only once the server holds the half-sent reply (no timing guess).
      await expect.poll(() => stalled.size).toBeGreaterThan(0);
      controller.abort(new Error("cancelled by the test"));
      await expect(pending).rejects.toThrow("cancelled by the test");
      const ok = await transport.request(`${base}/echo`, post(pattern(1000, 9)));
      expect(ok.status).toBe(200);
      ok.release();
      await expect(transport.request(`${base}/echo`, post(pattern(10, 1), AbortSignal.abort(new Error("already aborted"))))).rejects.toThrow("already aborted");
    } finally {
      transport.close();
    }
  });

  it("fails a reply cut short by the server, with or without Content-Length", async () => {
    const transport = new HttpTransport();
    try {
      for (const path of ["/truncated", "/truncated-chunked"]) {
        await expect(transport.request(`${base}${path}`, { method: "GET", headers: {}, signal: new AbortController().signal })).rejects.toThrow();
      }
    } finally {
      transport.close();
    }
  });

  it("refuses replies over maxReplyBytes, declared or streamed, without reading them whole", async () => {
    const transport = new HttpTransport({ maxReplyBytes: 2 ** 20 });
    try {
      const get = { method: "GET" as const, headers: {}, signal: new AbortController().signal };
      await expect(transport.request(`${base}/huge-declared`, get)).rejects.toThrow(ReplyTooLarge);
      await expect(transport.request(`${base}/huge-chunked`, get)).rejects.toThrow(/over the limit of 1048576 bytes/);
    } finally {
      transport.close();
    }
  });

  it("sends nothing more of a body once the reply has come, so the caller may reuse its memory", async () => {
    // A worker answers 401 or 413 before reading the body. This one answers at once and reads
    // nothing until the test says so, so most of the 32 MiB body is still unsent at the reply.
    const BODY = 32 * 2 ** 20;
    let seen: (result: { bytes: number; marked: boolean }) => void = () => {};
    const received = new Promise<{ bytes: number; marked: boolean }>((resolve) => (seen = resolve));
    let resume: () => void = () => {};
    const resumed = new Promise<void>((resolve) => (resume = resolve));
    const early = net.createServer((socket) => {
      socket.pause();
      const message = '{"error":{"code":"payload_too_large","message":"too big"}}';
      socket.write(`HTTP/1.1 413 Payload Too Large\r\ncontent-type: application/json\r\ncontent-length: ${message.length}\r\n\r\n${message}`);
      let bytes = 0;
      let marked = false;
      const done = () => seen({ bytes, marked });
      socket.on("data", (chunk: Buffer) => {
        bytes += chunk.length;
        marked ||= chunk.includes(0xee);
        if (bytes >= BODY) done();
      });
      socket.on("close", done);
      socket.on("error", done);
      void resumed.then(() => socket.resume());
    });
    await new Promise<void>((resolve) => early.listen(0, "127.0.0.1", resolve));
    const transport = new HttpTransport();
    try {
      const body = new Uint8Array(BODY).fill(0x11);
      const reply = await transport.request(`http://127.0.0.1:${(early.address() as AddressInfo).port}/v1/gradients`, post(body));
      expect(reply.status).toBe(413);
      reply.release();
      body.fill(0xee); // the memory is reused for the next request
      resume();
      const { bytes, marked } = await received;
      expect(marked).toBe(false);
      expect(bytes).toBeLessThan(BODY);
    } finally {
      transport.close();
      await new Promise((resolve) => early.close(resolve));
    }
  });

  it("names an unsupported URL scheme", async () => {
    const transport = new HttpTransport();
    await expect(transport.request("ftp://example.invalid/x", { method: "GET", headers: {}, signal: new AbortController().signal })).rejects.toThrow(/use http: or https:/);
    transport.close();
  });
});

describe("HttpTransport over TLS", () => {
  it("talks to an https worker whose certificate the process trusts (NODE_EXTRA_CA_CERTS), on one connection, in Node and Deno", async () => {
    // A throw-away self-signed certificate for 127.0.0.1, made for this test run only.
    const dir = await mkdtemp(join(tmpdir(), "edgeprop-tls-"));
    const tls = https.createServer();
    try {
      execFileSync("openssl", [
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"),
      ], { stdio: "ignore" });
      tls.setSecureContext({ key: await readFile(join(dir, "key.pem")), cert: await readFile(join(dir, "cert.pem")) });
      let secureConnections = 0;
      tls.on("secureConnection", () => secureConnections++);
      tls.on("request", (req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
          const reply = expectedReply(new Uint8Array(Buffer.concat(chunks)), 2);
          res.writeHead(200, { "content-length": reply.length }).end(reply);
        });
      });
      await new Promise<void>((resolve) => tls.listen(0, "127.0.0.1", resolve));
      const url = `https://127.0.0.1:${(tls.address() as AddressInfo).port}/echo`;
      const BYTES = 400_000, COUNT = 3;
      // The coordinator runs on Deno by default and on Node; Deno's node:https honours the variable too.
      const runtimes = {
        node: [process.execPath, "--import", "tsx"],
        deno: [denoBin, "run", ...COORDINATOR_DENO_PERMISSIONS],
      };
      for (const [runtime, [file, ...flags]] of Object.entries(runtimes)) {
        const before = secureConnections;
        const out = await runCommand(file, [...flags, "tests/helpers/transport-client.ts", url, String(BYTES), String(COUNT)], {
          env: { NODE_EXTRA_CA_CERTS: join(dir, "cert.pem") },
        });
        expect(out.stderr, runtime).toBe("");
        expect(out.code, runtime).toBe(0);
        const replies = out.stdout.trim().split("\n").map((line) => JSON.parse(line) as { status: number; length: number; sha256: string });
        expect(replies, runtime).toHaveLength(COUNT);
        replies.forEach((reply, i) => {
          const body = new Uint8Array(BYTES).map((_, j) => (j * 31 + i) & 0xff);
          expect(reply, runtime).toEqual({ status: 200, length: 2 * BYTES, sha256: createHash("sha256").update(expectedReply(body, 2)).digest("hex") });
        });
        expect(secureConnections - before, runtime).toBe(1);
      }

      // Without the certificate trusted, the same request fails (no silent downgrade or bypass).
      const untrusted = await runCommand(process.execPath, ["--import", "tsx", "tests/helpers/transport-client.ts", url, "10", "1"], { env: { NODE_EXTRA_CA_CERTS: "" } });
      expect(untrusted.code).not.toBe(0);
      expect(untrusted.stderr).toMatch(/self[- ]signed certificate/i);
    } finally {
      tls.closeAllConnections();
      await new Promise((resolve) => tls.close(resolve));
      await rm(dir, { recursive: true, force: true });
    }
  });
});
