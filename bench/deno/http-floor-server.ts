/**
 * The floors of the round-trip benchmark: servers that move the bytes a worker moves and do
 * nothing else.
 *
 * - HTTP (Deno.serve, the worker's server): POST reads the whole body and answers with as many
 *   bytes as the `x-reply-bytes` header asks for, as a one-chunk stream like the worker's replies;
 *   GET /health answers 200, GET /tcp-port the port of the TCP floor.
 * - TCP (Deno.listen): the same exchange without HTTP. A request is an 8-byte header (body length,
 *   reply length; big-endian uint32) and the body; the reply is the asked-for bytes. What is left
 *   is the kernel's loopback and the runtimes' socket reads and writes.
 *
 * Body and reply live in memory reused from request to request: this server allocates almost
 * nothing in JS, so V8 rarely collects, and `request.arrayBuffer()` plus a fresh reply array took
 * ~1,100 first-touch page faults per request (~11.5 µs each on the reference VM) — a cost of this
 * server, not of HTTP (the worker takes ~10 per request).
 *
 * Run: deno run --allow-net bench/deno/http-floor-server.ts  (prints its URL; ports chosen by the OS)
 */
import { oneChunkStream } from "../../core/http/one-chunk-stream.ts";

let body = new Uint8Array(4 * 2 ** 20);
let reply = new Uint8Array(2 * 2 ** 20);

function replyOf(bytes: number): Uint8Array {
  if (bytes > reply.length) reply = new Uint8Array(bytes);
  return reply.subarray(0, bytes);
}

const tcp = Deno.listen({ port: 0, hostname: "127.0.0.1" });
serveTcp(tcp);

const server = Deno.serve({
  port: 0,
  hostname: "127.0.0.1",
  onListen: ({ port }) => console.log(`http floor listening on http://127.0.0.1:${port}`),
}, async (request) => {
  if (request.method === "GET") return new Response(new URL(request.url).pathname === "/tcp-port" ? String(tcp.addr.port) : "ok");
  let size = 0;
  if (request.body) {
    for await (const chunk of request.body) {
      if (size + chunk.length > body.length) {
        const grown = new Uint8Array(2 * (size + chunk.length));
        grown.set(body.subarray(0, size));
        body = grown;
      }
      body.set(chunk, size);
      size += chunk.length;
    }
  }
  const bytes = replyOf(Number(request.headers.get("x-reply-bytes") ?? 0));
  return new Response(oneChunkStream(bytes), { headers: { "content-type": "application/x-msgpack" } });
});

async function serveTcp(listener: Deno.TcpListener): Promise<void> {
  for await (const connection of listener) {
    connection.setNoDelay(true);
    exchange(connection).catch(() => connection.close());
  }
}

async function exchange(connection: Deno.TcpConn): Promise<void> {
  const header = new Uint8Array(8);
  const view = new DataView(header.buffer);
  for (;;) {
    if (!(await readFull(connection, header))) return;
    const length = view.getUint32(0);
    if (length > body.length) body = new Uint8Array(length);
    if (!(await readFull(connection, body.subarray(0, length)))) return;
    const out = replyOf(view.getUint32(4));
    for (let written = 0; written < out.length;) written += await connection.write(out.subarray(written));
  }
}

/** Fills `into`; false when the peer closed first. */
async function readFull(connection: Deno.TcpConn, into: Uint8Array): Promise<boolean> {
  for (let got = 0; got < into.length;) {
    const n = await connection.read(into.subarray(got));
    if (n === null) return false;
    got += n;
  }
  return true;
}

await server.finished;
