#!/usr/bin/env node
// Compiles the npm packages (README "Packages"): tsc emits .js + .d.ts of every package's sources
// into .build/tsc/ (the repository's layout), the Deno entry files are transpiled beside them, and
// each package gets the files it owns in <its folder>/dist/, laid out as in the repository so that
// relative imports inside a package stay as written. An import of another package's file becomes
// that package's name (`../core/tf.ts` -> `@edgeprop/core/tf.js`) when the importer depends on it,
// and is copied in otherwise (the SDK carries the few core files it uses instead of depending on
// tfjs). Bare imports must be declared dependencies of the package that makes them; the build fails
// otherwise. Run by `npm run build` (after the tfjs, dashboard and workerd builds) and by prepack.
import { transform } from "esbuild";
import { execFileSync } from "node:child_process";
import { cp, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { builtinModules, createRequire } from "node:module";
import { dirname, join, posix, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { rewriteImports } from "./rewrite-imports.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const staging = join(root, ".build", "tsc");
const toPosix = (p) => p.split(sep).join("/");

const rootJson = JSON.parse(await readFile(join(root, "package.json"), "utf8"));
/** The packages: the workspaces and the root (dir ""), the most nested first so that owner() finds the closest. */
const packages = await Promise.all(["", ...rootJson.workspaces].map(async (dir) => {
  const json = JSON.parse(await readFile(join(root, dir, "package.json"), "utf8"));
  const declared = new Set([...Object.keys(json.dependencies ?? {}), ...Object.keys(json.peerDependencies ?? {})]);
  return { dir, name: json.name, exports: json.exports ?? {}, declared, files: new Map() };
}));
packages.sort((a, b) => b.dir.length - a.dir.length);

/** The package a repository path belongs to. */
const owner = (path) => packages.find((p) => p.dir === "" || path === p.dir || path.startsWith(`${p.dir}/`));

/** Files that are not compiled but shipped as they are: [from, to] repository paths, to under the package's dist/. */
const assets = [
  ["core/tfjs/bundle", "core/tfjs/bundle"],
  ["clients/dashboard/index.html", "clients/dashboard/index.html"],
  ["clients/dashboard/dist", "clients/dashboard/dist"],
  ["deploy/cloudflare/dist", "edge-functions/workerd"],
];

async function walk(dir) {
  const out = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(path)));
    else out.push(path);
  }
  return out;
}

// 1. tsc (incremental: a rebuild without changes takes a few seconds), then the Deno entries.
execFileSync(process.execPath, [createRequire(import.meta.url).resolve("typescript/bin/tsc"), "-p", join(root, "tsconfig.build.json")], { stdio: "inherit" });
for (const entry of ["coordinator/entry/deno.ts", "edge-functions/entry/deno.ts"]) {
  const { code } = await transform(await readFile(join(root, entry), "utf8"), { loader: "ts", format: "esm", target: "es2022" });
  await writeFile(join(staging, entry.replace(/\.ts$/, ".js")), code);
}

// 2. Which compiled files each package ships, and their imports rewritten.
const compiled = new Map();
for (const file of await walk(staging)) compiled.set(toPosix(relative(staging, file)), await readFile(file, "utf8"));

const builtins = new Set(builtinModules);
const problems = [];

/** The compiled file (or asset) a relative specifier of `from` names, as a repository path. */
function target(from, specifier) {
  const path = posix.normalize(posix.join(posix.dirname(from), specifier)).replace(/\.ts$/, ".js");
  if (!from.endsWith(".d.ts") || !path.endsWith(".js")) return path;
  return compiled.has(path.replace(/\.js$/, ".d.ts")) ? path.replace(/\.js$/, ".d.ts") : path;
}

/** The specifier by which another package imports `path` of `pkg`, from pkg's exports map. */
function exportedAs(pkg, path) {
  const file = `./dist/${path}`;
  for (const [key, value] of Object.entries(pkg.exports)) {
    const to = typeof value === "string" ? value : value.default;
    const [before, after] = to.split("*");
    if (after === undefined && to === file) return posix.join(pkg.name, key);
    if (after !== undefined && file.startsWith(before) && file.endsWith(after) && file.length >= before.length + after.length) {
      return posix.join(pkg.name, key.replace("*", file.slice(before.length, file.length - after.length)));
    }
  }
  return undefined;
}

function include(pkg, path) {
  if (pkg.files.has(path)) return;
  const text = compiled.get(path);
  pkg.files.set(path, text);
  if (text === undefined) return;
  pkg.files.set(path, rewriteImports(text, (specifier) => {
    if (specifier.startsWith(".")) {
      const to = target(path, specifier);
      const home = owner(to);
      if (home === pkg || !pkg.declared.has(home.name)) {
        if (compiled.has(to)) include(pkg, to);
        else if (!assets.some(([, at]) => to.startsWith(at))) problems.push(`${path}: ${specifier} is neither compiled nor an asset`);
        return specifier.replace(/\.ts$/, ".js");
      }
      const exported = exportedAs(home, to.replace(/\.d\.ts$/, ".js"));
      if (exported === undefined) problems.push(`${path}: ${specifier} is not in ${home.name}'s exports`);
      return exported ?? specifier;
    }
    const name = specifier.startsWith("@") ? specifier.split("/").slice(0, 2).join("/") : specifier.split("/")[0];
    if (!builtins.has(name) && !specifier.startsWith("node:") && !pkg.declared.has(name)) {
      problems.push(`${path}: imports ${name}, which ${pkg.name}'s package.json does not declare`);
    }
    return specifier;
  }));
}

for (const path of compiled.keys()) include(owner(path), path);
if (problems.length) throw new Error(`packages build:\n  ${problems.join("\n  ")}`);

// 3. Write each dist/ afresh: compiled files, then assets.
for (const pkg of packages) {
  const dist = join(root, pkg.dir, "dist");
  await rm(dist, { recursive: true, force: true });
  for (const [path, text] of pkg.files) {
    if (text === undefined) continue;
    await mkdir(dirname(join(dist, path)), { recursive: true });
    await writeFile(join(dist, path), text);
  }
  for (const [from, to] of assets) {
    if (owner(to) !== pkg) continue;
    if (!existsSync(join(root, from))) throw new Error(`packages build: ${from} is missing; run npm run build`);
    await cp(join(root, from), join(dist, to), { recursive: true });
  }
}
