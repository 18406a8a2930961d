// The edge function on Deno: `deno run --allow-net --allow-read --allow-env edge-functions/entry/deno.ts [--port P] [--host H]`.
import { createApp } from "../app.ts";
import { listenUrl, serveConfig } from "../worker-config.ts";

// The WebGPU probe (requestAdapter) runs Mesa's device-select Vulkan layer, which asks libwayland
// for a compositor; with XDG_RUNTIME_DIR unset libwayland prints "error: XDG_RUNTIME_DIR is invalid"
// twice. /dev/null is absolute and cannot hold a socket, so the lookup fails quietly and needs no
// directory written (see docs/runtime-notes.md, "WebGPU").
if (!Deno.env.get("XDG_RUNTIME_DIR")) Deno.env.set("XDG_RUNTIME_DIR", "/dev/null");
const config = serveConfig(Deno.env.toObject(), Deno.args);
const app = createApp({ ...config.worker, runtime: "deno" });
Deno.serve({
  port: config.port,
  hostname: config.host,
  onListen: ({ port }) => console.log(`edgeprop worker (deno) listening on ${listenUrl(config.host, port)}`),
}, app.fetch);
