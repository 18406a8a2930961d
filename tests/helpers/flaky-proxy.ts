/**
 * A loopback HTTP proxy in front of a real worker that answers every `failEvery`-th POST with a 500
 * (health checks pass through): a worker that fails some requests and serves the others.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface FlakyProxy {
  readonly url: string;
  /** POSTs seen and POSTs failed. */
  readonly counts: { requests: number; failed: number };
  close(): Promise<void>;
}

/**
 * `failEvery`: answer every n-th POST with a 500 (0: never). `delayMs`: hold every POST after the
 * first `fastRequests` this long before forwarding it (a straggler).
 */
export async function startFlakyProxy(target: string, failEvery: number, options: { delayMs?: number; fastRequests?: number } = {}): Promise<FlakyProxy> {
  const counts = { requests: 0, failed: 0 };
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (req.method === "POST") {
      counts.requests++;
      if (options.delayMs && counts.requests > (options.fastRequests ?? 0)) await new Promise((r) => setTimeout(r, options.delayMs));
      if (failEvery > 0 && counts.requests % failEvery === 0) {
        counts.failed++;
        res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { code: "injected", message: "injected failure" } }));
        return;
      }
    }
    try {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string" && k !== "host" && k !== "connection") headers[k] = v;
      const response = await fetch(target + req.url, { method: req.method, headers, body: req.method === "POST" ? Buffer.concat(chunks) : undefined });
      const body = Buffer.from(await response.arrayBuffer());
      res.writeHead(response.status, { "content-type": response.headers.get("content-type") ?? "application/octet-stream" });
      res.end(body);
    } catch (error) {
      res.writeHead(502, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { code: "proxy", message: (error as Error).message } }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
