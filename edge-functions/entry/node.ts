// The edge function on Node: `node --import tsx edge-functions/entry/node.ts [--port P] [--host H]`.
import { serve } from "@hono/node-server";
import { createApp } from "../app.ts";
import { listenUrl, serveConfig } from "../worker-config.ts";

const config = serveConfig(process.env, process.argv.slice(2));
const app = createApp({ ...config.worker, runtime: "node" });
// noDelay: without it Nagle's algorithm and delayed ACKs add ~40 ms to a reply (docs/runtime-notes.md).
// keepAlive: the coordinator reuses connections; a 65 s idle timeout outlives its pool's sockets.
serve({
  fetch: app.fetch,
  port: config.port,
  hostname: config.host,
  serverOptions: { noDelay: true, keepAlive: true, keepAliveTimeout: 65_000 },
}, (info) => console.log(`edgeprop worker (node) listening on ${listenUrl(config.host, info.port)}`));
// Stateless: nothing to flush, and an in-flight shard is retried elsewhere by the coordinator.
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => process.exit(0));
