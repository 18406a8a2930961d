#!/usr/bin/env node
// Bundles the edge function for Cloudflare workerd: deploy/cloudflare/dist/worker.mjs plus the
// SIMD wasm binary beside it, which wrangler and miniflare upload as a CompiledWasm module.
//
// Three substitutions make tfjs run there (docs/runtime-notes.md, "Cloudflare workerd"):
// 1. core/tfjs/bundle/tfjs.mjs (the Node/Deno bundle, with a node:module banner) is replaced by
//    tfjs-workerd.ts, which bundles tfjs from its packages for the browser-like platform;
// 2. tfjs-backend-wasm's init() gets emscripten's `instantiateWasm` hook from wasm-module.ts, which
//    instantiates the compiled module (workerd forbids compiling wasm from bytes); the patch is
//    checked, so a tfjs upgrade that moves the code fails the build instead of the worker;
// 3. `.wasm` imports stay external, and the binary is copied next to the bundle.
//
// Fast (~0.5 s) and idempotent; serve.mjs and the tests run it before starting workerd, so nobody
// runs it by hand. Output is written to a temporary folder and renamed into place, so concurrent
// builds (parallel test files) never expose a half-written bundle.
import { build } from "esbuild";
import { copyFile, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const require = createRequire(import.meta.url);

/** Where the bundle goes (gitignored). wrangler.toml's `main` points here. */
export const distDir = join(here, "dist");
export const wasmName = "tfjs-backend-wasm-simd.wasm";
const defaultEntry = join(root, "edge-functions", "entry", "workerd.ts");

/** The exact text of tfjs-backend-wasm 4.22's init() that the hook is inserted before. */
const patchTarget = "        if (customFetch) {\n            factoryConfig.instantiateWasm =";

/** @type {import("esbuild").Plugin} */
const workerdPlugin = {
  name: "edgeprop-workerd",
  setup(b) {
    b.onResolve({ filter: /tfjs\/bundle\/tfjs\.mjs$/ }, () => ({ path: join(here, "tfjs-workerd.ts") }));
    b.onResolve({ filter: /\.wasm$/ }, (args) => {
      if (!args.path.endsWith(wasmName)) {
        return { errors: [{ text: `only ${wasmName} is shipped with the worker, not '${args.path}'` }] };
      }
      return { path: `./${wasmName}`, external: true };
    });
    b.onLoad({ filter: /tfjs-backend-wasm[\\/]dist[\\/]backend_wasm\.js$/ }, async (args) => {
      const source = await readFile(args.path, "utf8");
      const at = source.indexOf(patchTarget);
      if (at < 0 || source.indexOf(patchTarget, at + 1) >= 0) {
        return {
          errors: [{ text: `cannot patch ${args.path}: the instantiateWasm insertion point is not found exactly once (tfjs upgraded?)` }],
        };
      }
      const hook = JSON.stringify(join(here, "wasm-module.ts"));
      const patched = `import { instantiateWasm as __edgepropInstantiateWasm } from ${hook};\n` +
        source.slice(0, at) +
        "        factoryConfig.instantiateWasm = __edgepropInstantiateWasm(simdSupported, reject);\n" +
        source.slice(at);
      return { contents: patched, loader: "js", resolveDir: dirname(args.path) };
    });
  },
};

/**
 * Builds the worker bundle. `entry` defaults to edge-functions/entry/workerd.ts; `outDir` to
 * deploy/cloudflare/dist. Returns the paths of the script and the wasm module.
 * @param {{ entry?: string, outDir?: string }} [options]
 * @returns {Promise<{ outDir: string, script: string, wasm: string, bytes: number }>}
 */
export async function buildWorker(options = {}) {
  const outDir = options.outDir ?? distDir;
  const entry = options.entry ?? defaultEntry;
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    outfile: join(outDir, "worker.mjs"),
    format: "esm",
    platform: "browser",
    conditions: ["workerd", "worker", "browser"],
    // `module` before `main`, as in deploy/build/tfjs.mjs: tfjs-core must be loaded once.
    mainFields: ["browser", "module", "main"],
    target: "es2022",
    minify: true,
    legalComments: "none",
    plugins: [workerdPlugin],
    logLevel: "warning",
  });
  const [file] = result.outputFiles;
  // Staged inside outDir (same file system, so rename is atomic; gitignored with it), then each
  // file renamed over the previous one: a reader sees the old file or the new one, never half.
  const staging = join(outDir, `.staging-${process.pid}-${Date.now()}`);
  await mkdir(staging, { recursive: true });
  try {
    await writeFile(join(staging, "worker.mjs"), file.contents);
    const wasmDir = dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json"));
    await copyFile(join(wasmDir, "dist", wasmName), join(staging, wasmName));
    for (const name of [wasmName, "worker.mjs"]) await rename(join(staging, name), join(outDir, name));
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return { outDir, script: join(outDir, "worker.mjs"), wasm: join(outDir, wasmName), bytes: file.contents.length };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const started = performance.now();
  const out = await buildWorker();
  console.log(`built ${out.script} (${(out.bytes / 1024).toFixed(0)} KiB + ${wasmName}) in ${(performance.now() - started).toFixed(0)} ms`);
}
