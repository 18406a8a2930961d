/**
 * The HTTP floor of the round-trip benchmark: a Deno.serve that moves the bytes a worker moves and
 * does nothing else. POST reads the whole body and answers with as many bytes as the
 * `x-reply-bytes` header asks for; GET /health answers 200. The difference between a worker round
 * trip and this one is the worker's own work (signing, codec, compute).
 *
 * Body and reply live in memory reused from request to request: this server allocates almost
 * nothing in JS, so V8 rarely collects, and `request.arrayBuffer()` plus a fresh reply array took
 * ~1,100 first-touch page faults per request (~11.5 µs each on the reference VM) — a cost of this
 * server, not of HTTP (the worker takes ~10 per request).
 *
 * Run: deno run --allow-net bench/deno/http-floor-server.ts  (prints its URL; port chosen by the OS)
 */
let body = new Uint8Array(4 * 2 ** 20);
let reply = new Uint8Array(2 * 2 ** 20);
const server = Deno.serve({
  port: 0,
  hostname: "127.0.0.1",
  onListen: ({ port }) => console.log(`http floor listening on http://127.0.0.1:${port}`),
}, async (request) => {
  if (request.method === "GET") return new Response("ok");
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
  const bytes = Number(request.headers.get("x-reply-bytes") ?? 0);
  if (bytes > reply.length) reply = new Uint8Array(bytes);
  return new Response(reply.subarray(0, bytes), { headers: { "content-type": "application/x-msgpack" } });
});
await server.finished;
