/**
 * The HTTP floor of the round-trip benchmark: a Deno.serve that does what the worker's HTTP layer
 * does and nothing else. POST reads the whole body (as the worker does) and answers with as many
 * bytes as the `x-reply-bytes` header asks for; GET /health answers 200. The difference between a
 * worker round trip and this one is the worker's own work (signing, codec, compute).
 *
 * Run: deno run --allow-net bench/deno/http-floor-server.ts  (prints its URL; port chosen by the OS)
 */
const server = Deno.serve({
  port: 0,
  hostname: "127.0.0.1",
  onListen: ({ port }) => console.log(`http floor listening on http://127.0.0.1:${port}`),
}, async (request) => {
  if (request.method === "GET") return new Response("ok");
  await request.arrayBuffer();
  const bytes = Number(request.headers.get("x-reply-bytes") ?? 0);
  return new Response(new Uint8Array(bytes), { headers: { "content-type": "application/x-msgpack" } });
});
await server.finished;
