/**
 * A reply body as a stream of one chunk, which HTTP servers send with chunked transfer encoding.
 * Measured against a Uint8Array body (which the runtimes send with a Content-Length), same worker,
 * same requests, interleaved: the round trip's added time drops by 0.5-0.6 ms on Deno (Deno.serve)
 * and 1.7 ms on Node (@hono/node-server), and is unchanged on workerd. A stream given a
 * Content-Length header loses the gain on Deno. Used by the edge function's replies and by the
 * benchmark's HTTP floor server, which must answer the same way.
 */
export function oneChunkStream(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(bytes);
      controller.close();
    },
  });
}
