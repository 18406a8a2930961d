#!/usr/bin/env node
// Stages the JSR packages that import another package's files (README "Packages"). JSR refuses a
// relative import from one package into another (`../core/limits.ts` from edge-functions/), and the
// repository's tools all resolve those relative imports, so the sources keep them and this script
// writes a Deno workspace in .build/jsr/ where they are publishable, by the rule of packages.mjs:
// an import of another package's file becomes that package's name and export
// (`../core/limits.ts` -> `@edgeprop/core/limits`) when the importer depends on it (package.json),
// and the file is copied in otherwise (the SDK carries the few core files it uses instead of
// depending on tfjs). Files keep their repository paths inside each staged package
// (.build/jsr/worker/edge-functions/app.ts), so relative imports inside a package stay as written.
//   .build/jsr/core    core/ as it is (publishable in place; here so that the worker resolves it)
//   .build/jsr/sdk     @edgeprop/sdk: clients/sdk/ and the core files it imports
//   .build/jsr/worker  @edgeprop/worker: edge-functions/, importing @edgeprop/core by name
// Then `deno publish --dry-run` (or `deno publish`) in .build/jsr/sdk or .build/jsr/worker.
// tests/packages/jsr.test.ts runs this script and those dry runs.
import { cp, mkdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { dirname, join, posix } from "node:path";
import { fileURLToPath } from "node:url";
import { rewriteImports } from "./rewrite-imports.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const out = join(root, ".build", "jsr");
const readJson = async (path) => JSON.parse(await readFile(join(root, path), "utf8"));

/** The packages by folder: npm name (package.json), JSR config (deno.json), declared dependencies. */
const packages = await Promise.all(["core", "clients/sdk", "edge-functions"].map(async (dir) => {
  const json = await readJson(`${dir}/package.json`);
  const deno = await readJson(`${dir}/deno.json`);
  const declared = new Set([...Object.keys(json.dependencies ?? {}), ...Object.keys(json.peerDependencies ?? {})]);
  return { dir, name: deno.name, deno, json, declared };
}));
/** The package a repository path belongs to (undefined: the root package; only the root imports the others' files). */
const owner = (path) => packages.find((p) => path.startsWith(`${p.dir}/`));
/**
 * The root package `edgeprop` (the coordinator, the CLI, the local cluster). Its deno.json is the
 * repository's Deno config (tasks, check, fmt) and carries no name, so its JSR identity is here:
 * `@edgeprop/edgeprop`, the npm name under the scope JSR requires (README "Packages"). It exports
 * what a Deno user runs: the coordinator's Deno entry (`deno run -A jsr:@edgeprop/edgeprop/coordinator`).
 */
const rootJson = await readJson("package.json");
const rootPackage = {
  dir: "",
  name: "@edgeprop/edgeprop",
  deno: {
    name: "@edgeprop/edgeprop",
    version: rootJson.version,
    license: rootJson.license,
    exports: { "./coordinator": "./coordinator/entry/deno.ts" },
  },
  json: { name: rootJson.name, version: rootJson.version, type: rootJson.type, dependencies: rootJson.dependencies },
  declared: new Set(Object.keys(rootJson.dependencies ?? {})),
};

/** The JSR export of `pkg` that is the repository file `path`, e.g. "@edgeprop/core/limits". */
function exportedAs(pkg, path) {
  const exports = typeof pkg.deno.exports === "string" ? { ".": pkg.deno.exports } : pkg.deno.exports;
  for (const [key, file] of Object.entries(exports)) {
    if (posix.join(pkg.dir, file) === path) return posix.join(pkg.name, key);
  }
  return undefined;
}

const problems = [];

/** Stages `pkg` in .build/jsr/<as>: the import closure of its exports, its README, its configs. */
async function stage(pkg, as) {
  const dir = join(out, as);
  const files = new Map();
  const visit = async (path) => {
    if (files.has(path)) return;
    files.set(path, null);
    const text = await readFile(join(root, path), "utf8");
    const pending = [];
    files.set(path, rewriteImports(text, (specifier) => {
      if (!specifier.startsWith(".")) return specifier;
      const to = posix.normalize(posix.join(posix.dirname(path), specifier));
      const home = owner(to);
      if (home === pkg || home === undefined || !pkg.declared.has(home.name)) {
        pending.push(to);
        return specifier;
      }
      const exported = exportedAs(home, to);
      if (exported === undefined) problems.push(`${path}: ${specifier} is not in ${home.name}'s deno.json exports`);
      return exported ?? specifier;
    }));
    for (const to of pending) await visit(to);
  };
  const exports = typeof pkg.deno.exports === "string" ? { ".": pkg.deno.exports } : pkg.deno.exports;
  for (const file of Object.values(exports)) await visit(posix.join(pkg.dir, file));
  for (const [path, text] of files) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  const staged = { ...pkg.deno, exports: Object.fromEntries(Object.entries(exports).map(([k, v]) => [k, `./${posix.join(pkg.dir, v)}`])) };
  await writeFile(join(dir, "deno.json"), `${JSON.stringify(staged, null, 2)}\n`);
  await writeFile(join(dir, "package.json"), `${JSON.stringify(pkg.json, null, 2)}\n`);
  if (existsSync(join(root, pkg.dir, "README.md"))) await cp(join(root, pkg.dir, "README.md"), join(dir, "README.md"));
}

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
// core is publishable as it is: copied whole (less its npm build), with the tfjs bundle it ships.
await cp(join(root, "core"), join(out, "core"), { recursive: true, filter: (src) => !/[/\\]core[/\\](dist|node_modules)$/.test(src) });
await stage(packages.find((p) => p.dir === "clients/sdk"), "sdk");
await stage(packages.find((p) => p.dir === "edge-functions"), "worker");
await stage(rootPackage, "edgeprop");
if (problems.length) throw new Error(`jsr staging:\n  ${problems.join("\n  ")}`);
// A Deno workspace, so that the worker's `@edgeprop/core/...` resolve to the staged core, and npm
// packages from the repository's node_modules (offline, as for core in place).
await writeFile(join(out, "deno.json"), `${JSON.stringify({ workspace: ["./core", "./sdk", "./worker", "./edgeprop"], nodeModulesDir: "manual" }, null, 2)}\n`);
await writeFile(join(out, "package.json"), `${JSON.stringify({ private: true, workspaces: ["core", "sdk", "worker", "edgeprop"] }, null, 2)}\n`);
await symlink(join(root, "node_modules"), join(out, "node_modules"), "dir");
