// Builds the coordinator as one executable with `deno compile`, which runs on a machine with nothing
// but a data directory:
//
//   npm run build:coordinator -- [--out FILE] [--target TRIPLE]
//   ./edgeprop-coordinator --data-dir /var/lib/edgeprop --host 127.0.0.1 --port 8080 --workers URL,...
//
// Compiling coordinator/entry/deno.ts in the checkout would embed all of node_modules (~660 MB: the
// repository's nodeModulesDir is "manual", so deno compile takes the whole folder). So the
// coordinator is first staged (stageCoordinator): esbuild bundles it into coordinator/main.mjs,
// with beside it what it reads at run time from paths relative to its code — the tfjs .wasm files,
// clients/dashboard/ (index.html, dist/), the builtin MNIST JSON files and a deno.json mapping the
// `mnist/` specifier to them — and `deno compile` embeds only that folder (~25 MB).
//
// `deno compile` then copies a runtime binary (denort, Deno 2.9.6) that it downloads from Deno's
// release server on first use and caches; offline, point DENORT_BIN at one for the target.
import { spawn } from "node:child_process";
import { cp, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { build } from "esbuild";
import { COORDINATOR_DENO_PERMISSIONS, denoBinary } from "../local-cluster.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const WASM_FILES = ["tfjs-backend-wasm.wasm", "tfjs-backend-wasm-simd.wasm"];

export interface StagedCoordinator {
  readonly dir: string;
  /** The bundle, `<dir>/coordinator/main.mjs`. */
  readonly entry: string;
  /** The import map that resolves `mnist/` inside the folder, `<dir>/deno.json`. */
  readonly config: string;
  readonly bytes: number;
}

async function sizeOf(path: string): Promise<number> {
  const info = await stat(path);
  if (!info.isDirectory()) return info.size;
  let total = 0;
  for (const name of await readdir(path)) total += await sizeOf(join(path, name));
  return total;
}

/** Writes the coordinator and everything it reads at run time into `dir` (emptied first). */
export async function stageCoordinator(dir: string): Promise<StagedCoordinator> {
  dir = resolve(dir);
  if (root.startsWith(dir + "/") || resolve(root) === dir) throw new Error(`Cannot stage the coordinator into '${dir}': it would replace the repository`);
  const dashboard = join(root, "clients", "dashboard");
  const tfjs = join(root, "core", "tfjs", "bundle");
  for (const needed of [join(tfjs, "tfjs.mjs"), join(dashboard, "dist", "app.js")]) {
    await stat(needed).catch(() => {
      throw new Error(`Cannot build the coordinator: ${relative(root, needed)} is missing (run \`npm ci\`, which builds the tfjs bundle and the dashboard)`);
    });
  }
  await rm(dir, { recursive: true, force: true });
  const entry = join(dir, "coordinator", "main.mjs");
  await build({
    entryPoints: [join(root, "coordinator", "entry", "deno.ts")],
    outfile: entry,
    bundle: true,
    format: "esm",
    // As for the Deno worker (deploy/deno/build.mjs): tfjs treats Deno as Node; node: builtins stay imports.
    platform: "node",
    conditions: ["deno", "node"],
    mainFields: ["module", "main"],
    // Not es2022: esbuild would drop the `with: { type: "json" }` of core/data/mnist.ts's import().
    target: "esnext",
    minify: true,
    legalComments: "none",
    logLevel: "warning",
    logOverride: { "equals-negative-zero": "silent" },
  });
  // The bundle's import.meta.url is coordinator/main.mjs: tfjs reads its .wasm from that folder and
  // the dashboard is at ../clients/dashboard/, as in the repository.
  for (const name of WASM_FILES) await cp(join(tfjs, name), join(dir, "coordinator", name));
  await cp(join(dashboard, "index.html"), join(dir, "clients", "dashboard", "index.html"));
  await cp(join(dashboard, "dist"), join(dir, "clients", "dashboard", "dist"), { recursive: true });
  const mnist = dirname(createRequire(import.meta.url).resolve("mnist/package.json"));
  await cp(join(mnist, "src", "digits"), join(dir, "mnist", "src", "digits"), { recursive: true });
  const config = join(dir, "deno.json");
  await writeFile(config, JSON.stringify({ imports: { "mnist/": "./mnist/" } }, null, 2) + "\n");
  return { dir, entry, config, bytes: await sizeOf(dir) };
}

/** The `deno compile` command line that turns a staged folder into the binary `out`. */
export function compileArgs(staged: StagedCoordinator, out: string, target?: string): string[] {
  return [
    "compile",
    // `deno task check` type-checks the sources; the bundle is plain JavaScript.
    "--no-check",
    "--config", staged.config,
    ...COORDINATOR_DENO_PERMISSIONS,
    "--include", staged.dir,
    ...(target ? ["--target", target] : []),
    "--output", out,
    staged.entry,
  ];
}

/** Runs `deno compile`; resolves with its exit code. */
export function compile(staged: StagedCoordinator, out: string, target?: string): Promise<number | null> {
  const child = spawn(denoBinary(), compileArgs(staged, out, target), { cwd: staged.dir, stdio: "inherit" });
  return new Promise((done, fail) => {
    child.on("error", fail);
    child.on("exit", (code) => done(code));
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { out: { type: "string", default: "edgeprop-coordinator" }, target: { type: "string" } } });
  const started = performance.now();
  // Outside the checkout, so that deno compile finds neither its package.json nor its node_modules.
  const stagingDir = await mkdtemp(join(tmpdir(), "edgeprop-coordinator-"));
  try {
    const staged = await stageCoordinator(stagingDir);
    const out = resolve(values.out);
    if ((await compile(staged, out, values.target)) !== 0) {
      throw new Error("deno compile failed (offline it cannot download its runtime binary: set DENORT_BIN, see deploy/README.md)");
    }
    console.log(`built ${out} (${((await stat(out)).size / 1024 / 1024).toFixed(0)} MiB) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  } finally {
    await rm(stagingDir, { recursive: true, force: true });
  }
}
