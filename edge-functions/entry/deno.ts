// The edge function on Deno: `deno run --allow-net --allow-read --allow-env edge-functions/entry/deno.ts [--port P] [--host H]`.
import { createApp } from "../app.ts";
import { listenUrl, serveConfig } from "../worker-config.ts";

const config = serveConfig(Deno.env.toObject(), Deno.args);
const app = createApp({ ...config.worker, runtime: "deno" });
Deno.serve({
  port: config.port,
  hostname: config.host,
  onListen: ({ port }) => console.log(`edgeprop worker (deno) listening on ${listenUrl(config.host, port)}`),
}, app.fetch);
