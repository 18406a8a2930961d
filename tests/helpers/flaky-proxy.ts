/**
 * A loopback HTTP proxy in front of a real worker that answers every `failEvery`-th POST with a 500
 * (health checks pass through): a worker that fails some requests and serves the others. It logs
 * each POST's body bytes and the reply bytes it delivered: what the worker's link carried.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface ProxiedPost {
  readonly path: string;
  readonly at: number;
  readonly sent: number;
  received: number;
}

export interface FlakyProxy {
  readonly url: string;
  /** POSTs seen and POSTs failed. */
  readonly counts: { requests: number; failed: number };
  /** Every POST in arrival order: its path, when its body had arrived, its body bytes and the reply bytes delivered (0 until then, or when the client left first). */
  readonly posts: readonly ProxiedPost[];
  close(): Promise<void>;
}

/**
 * `failEvery`: answer every n-th POST with a 500 (0: never). `delayMs`: hold every POST after the
 * first `fastRequests` this long before forwarding it (a straggler).
 */
export async function startFlakyProxy(target: string, failEvery: number, options: { delayMs?: number; fastRequests?: number } = {}): Promise<FlakyProxy> {
  const counts = { requests: 0, failed: 0 };
  const posts: ProxiedPost[] = [];
  const server: Server = createServer(async (req, res) => {
    let post: ProxiedPost | null = null;
    // Reply bytes count once the whole reply is written: a reply to a client that left (an aborted hedge) is not delivered.
    const reply = (status: number, contentType: string, body: Buffer) => {
      res.writeHead(status, { "content-type": contentType });
      res.end(body, () => void (post && (post.received = body.length)));
    };
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of req) chunks.push(chunk as Buffer);
    } catch {
      return; // the client went away mid-request (a killed coordinator): nothing reached the worker
    }
    if (req.method === "POST") {
      post = { path: req.url ?? "", at: Date.now(), sent: chunks.reduce((a, c) => a + c.length, 0), received: 0 };
      posts.push(post);
      counts.requests++;
      if (options.delayMs && counts.requests > (options.fastRequests ?? 0)) await new Promise((r) => setTimeout(r, options.delayMs));
      if (failEvery > 0 && counts.requests % failEvery === 0) {
        counts.failed++;
        reply(500, "application/json", Buffer.from(JSON.stringify({ error: { code: "injected", message: "injected failure" } })));
        return;
      }
    }
    try {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string" && k !== "host" && k !== "connection") headers[k] = v;
      const response = await fetch(target + req.url, { method: req.method, headers, body: req.method === "POST" ? Buffer.concat(chunks) : undefined });
      const body = Buffer.from(await response.arrayBuffer());
      reply(response.status, response.headers.get("content-type") ?? "application/octet-stream", body);
    } catch (error) {
      reply(502, "application/json", Buffer.from(JSON.stringify({ error: { code: "proxy", message: (error as Error).message } })));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    posts,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
