#!/usr/bin/env node
// Runs the edge function locally in workerd, the runtime of Cloudflare Workers, through the pinned
// miniflare (no network, no Cloudflare account). Used by `npx edgeprop worker --runtime workerd`
// and by the tests; also runnable on its own:
//
//   EDGEPROP_WORKER_SECRET=... node deploy/cloudflare/serve.mjs [--port 8787] [--host 127.0.0.1]
//
// It builds the bundle first (build.mjs, ~0.5 s), so the worker always runs the current sources.
// miniflare runs workerd as a child process; stop() (or SIGINT/SIGTERM in script mode) ends it.
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { Miniflare } from "miniflare";
import { buildWorker, distDir, wasmName } from "./build.mjs";

const here = dirname(fileURLToPath(import.meta.url));

/** wrangler.toml's compatibility date, so that the local worker behaves like the deployed one. */
async function compatibilityDate() {
  const toml = await readFile(join(here, "wrangler.toml"), "utf8");
  const match = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml);
  if (!match) throw new Error(`Cannot start workerd: no compatibility_date in ${join(here, "wrangler.toml")}`);
  return match[1];
}

/**
 * Starts the worker in workerd on `host:port` (port 0: a free port) with the secret as the
 * `EDGEPROP_WORKER_SECRET` binding, and resolves once `GET /v1/health` answers. Like every edgeprop
 * worker it refuses to start without a secret unless `insecure` (local development only).
 * The caller owns the returned handle and must call `stop()`.
 * @param {{ port?: number, host?: string, secret?: string, insecure?: boolean, vars?: Record<string, string>, build?: boolean }} [options]
 *   `vars`: more bindings, e.g. `EDGEPROP_MAX_BODY_BYTES` (edge-functions/worker-config.ts);
 *   `build: false` serves the existing deploy/cloudflare/dist without rebuilding it.
 * @returns {Promise<{ url: string, port: number, stop: () => Promise<void> }>}
 */
export async function startWorkerd(options = {}) {
  const { port = 8787, host = "127.0.0.1", secret, insecure = false } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`Cannot start workerd: 'port' must be an integer in [0, 65535], current value is ${port}`);
  }
  if (!secret && !insecure) {
    throw new Error("Cannot start workerd: EDGEPROP_WORKER_SECRET is not set (set EDGEPROP_INSECURE=1 for local development only)");
  }
  const outDir = options.build === false ? distDir : (await buildWorker()).outDir;
  /** @type {Record<string, string>} */
  const bindings = { ...options.vars };
  if (secret) bindings.EDGEPROP_WORKER_SECRET = secret;
  if (insecure) bindings.EDGEPROP_INSECURE = "1";
  const mf = new Miniflare({
    name: "edgeprop-worker",
    modulesRoot: outDir,
    modules: [
      { type: "ESModule", path: join(outDir, "worker.mjs") },
      { type: "CompiledWasm", path: join(outDir, wasmName) },
    ],
    compatibilityDate: await compatibilityDate(),
    bindings,
    host,
    port,
  });
  let url;
  try {
    url = await mf.ready;
  } catch (error) {
    await mf.dispose().catch(() => {});
    throw error;
  }
  const href = url.href.replace(/\/$/, "");
  // workerd creates the app on the first request (bindings exist only then), so a bad configuration
  // (short secret, malformed limit) would only show as 500s later. Ask once now and fail to start
  // instead, as the Node and Deno workers do.
  const probe = await fetch(`${href}/v1/health`).catch((error) => error);
  if (!(probe instanceof Response) || !probe.ok) {
    const reason = probe instanceof Response
      ? ((await probe.json().catch(() => null))?.error?.message ?? `HTTP ${probe.status}`)
      : String(probe);
    await mf.dispose().catch(() => {});
    throw new Error(reason);
  }
  await probe.arrayBuffer();
  return { url: href, port: Number(url.port), stop: () => mf.dispose() };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: { port: { type: "string", default: "8787" }, host: { type: "string", default: "127.0.0.1" } },
  });
  let worker;
  try {
    // The other EDGEPROP_* variables (limits, default backend) become bindings, as on Cloudflare.
    /** @type {Record<string, string>} */
    const vars = {};
    for (const [name, value] of Object.entries(process.env)) {
      if (name.startsWith("EDGEPROP_") && name !== "EDGEPROP_WORKER_SECRET" && name !== "EDGEPROP_INSECURE" && value) vars[name] = value;
    }
    worker = await startWorkerd({
      port: Number(values.port),
      host: values.host,
      secret: process.env.EDGEPROP_WORKER_SECRET || undefined,
      insecure: process.env.EDGEPROP_INSECURE === "1",
      vars,
    });
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  }
  // The bundle is built: end esbuild's service process rather than keep it for the worker's life.
  await (await import("esbuild")).stop();
  console.log(`edgeprop worker (workerd) listening on ${worker.url}`);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await worker.stop();
    process.exit(0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  // workerd is a grandchild of whoever started this script and does not notice when this process
  // dies. If that starter dies without stopping us (a killed test runner), this process is
  // re-parented: stop workerd then instead of leaving it listening.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) void stop();
  }, 1000).unref();
}
