#!/usr/bin/env node
// Builds what Deno Deploy gets for the worker: one directory holding main.mjs (edge-functions/entry/deno.ts
// and everything it imports, bundled), the tfjs .wasm files it loads from beside itself, and a
// deno.json whose "deploy" key names the org and app, so that `deno deploy --prod <dir>` needs no
// flags and uploads ~1.5 MB instead of the repository and its node_modules (see README.md here).
//
//   node deploy/deno/build.mjs [--out DIR] [--org ORG] [--app APP]
//
// The directory defaults to <tmp>/edgeprop-deno-worker, outside the repository on purpose: `deno
// deploy` skips what .gitignore names, and a generated bundle inside the checkout would be ignored.
// It is emptied first, so nothing stale is uploaded.
import { build } from "esbuild";
import { copyFile, mkdir, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const tfjsDir = join(root, "core", "tfjs", "bundle");
const WASM_FILES = ["tfjs-backend-wasm.wasm", "tfjs-backend-wasm-simd.wasm"];
export const defaultOutDir = join(tmpdir(), "edgeprop-deno-worker");

/**
 * Builds the upload into `outDir`. `org`/`app` go into its deno.json ("deploy" key); without them
 * `deno deploy` asks, or takes --org/--app. Returns the directory and its files (name → bytes).
 * @param {{ outDir?: string, org?: string, app?: string }} [options]
 * @returns {Promise<{ outDir: string, files: Record<string, number> }>}
 */
export async function buildDenoWorker(options = {}) {
  const outDir = resolve(options.outDir ?? defaultOutDir);
  if (outDir === root || root.startsWith(outDir + "/")) {
    throw new Error(`Cannot build the Deno worker into '${outDir}': it would replace the repository`);
  }
  try {
    await stat(join(tfjsDir, "tfjs.mjs"));
  } catch {
    throw new Error(`Cannot build the Deno worker: ${join(tfjsDir, "tfjs.mjs")} is missing (run \`npm ci\`, which builds it)`);
  }
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  await build({
    entryPoints: [join(root, "edge-functions", "entry", "deno.ts")],
    outfile: join(outDir, "main.mjs"),
    bundle: true,
    format: "esm",
    // The tfjs bundle is made for Node-like runtimes (Deno is one to tfjs): node: builtins stay imports.
    platform: "node",
    conditions: ["deno", "node"],
    mainFields: ["module", "main"],
    target: "es2022",
    minify: true,
    legalComments: "none",
    logLevel: "warning",
    // tfjs's own `x === -0` (it means it); the first bundling step does not check it either.
    logOverride: { "equals-negative-zero": "silent" },
  });
  for (const name of WASM_FILES) await copyFile(join(tfjsDir, name), join(outDir, name));
  const deploy = { ...(options.org ? { org: options.org } : {}), ...(options.app ? { app: options.app } : {}) };
  await writeFile(join(outDir, "deno.json"), JSON.stringify({ deploy }, null, 2) + "\n");
  /** @type {Record<string, number>} */
  const files = {};
  for (const name of (await readdir(outDir)).sort()) files[name] = (await stat(join(outDir, name))).size;
  return { outDir, files };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { out: { type: "string" }, org: { type: "string" }, app: { type: "string" } } });
  try {
    const { outDir, files } = await buildDenoWorker({ outDir: values.out, org: values.org, app: values.app });
    const total = Object.values(files).reduce((a, b) => a + b, 0);
    console.log(`built ${outDir}: ${Object.entries(files).map(([n, b]) => `${n} (${(b / 1024).toFixed(0)} KiB)`).join(", ")}; ${(total / 1024 / 1024).toFixed(1)} MiB in all`);
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  }
}
