/**
 * The npm packages as a new user gets them: every package packed, the tarballs installed into a
 * fresh project under the OS temporary folder with a plain `npm install` (scripts on, offline from
 * the cache the repository's `npm ci` filled), then the README's SDK example run by plain Node and
 * by Deno, importing `@edgeprop/sdk` by name, against a cluster started by the installed
 * `edgeprop` bin. The packing compiles first (deploy/build/packages.mjs) but skips prepack, which
 * would also rebuild the tfjs bundle and the dashboard that other test files are loading meanwhile.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { denoBin, repoRoot } from "../helpers/processes.ts";
import { waitFor } from "../helpers/wait.ts";
import { scratchLock, type Tarball } from "./scratch-lock.ts";

const run = promisify(execFile);
const PACKAGES = [
  { dir: "clients/sdk", name: "@edgeprop/sdk" },
  { dir: "core", name: "@edgeprop/core" },
  { dir: "edge-functions", name: "@edgeprop/worker" },
  { dir: ".", name: "edgeprop" },
];

/** The environment of a user's shell: none of the npm_* variables that `npm test` sets for its scripts. */
const userEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith("npm_")));

async function sh(file: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}, timeoutMs = 300_000): Promise<string> {
  const { stdout } = await run(file, [...args], { cwd, env: { ...userEnv, NO_COLOR: "1", ...env }, timeout: timeoutMs, maxBuffer: 64 << 20 });
  return stdout;
}

/** Bytes of the files under `dir`, each counted once (npm hardlinks the deno binary to its bin entry). */
async function bytesUnder(dir: string, seen = new Set<number>()): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += await bytesUnder(path, seen);
    else if (entry.isFile()) {
      const { ino, size } = await stat(path);
      if (!seen.has(ino)) total += size;
      seen.add(ino);
    }
  }
  return total;
}

/** The README's SDK example: the js block after the marker comment. */
async function readmeExample(): Promise<string> {
  const readme = await readFile(join(repoRoot, "README.md"), "utf8");
  const match = /<!-- sdk-example\.mjs[^\n]*-->\n```js\n([\s\S]*?)```/.exec(readme);
  if (!match) throw new Error("README.md has no <!-- sdk-example.mjs --> block");
  return match[1]!;
}

let tmp: string;
let scratch: string;
let cluster: ChildProcess | undefined;
let coordinatorUrl: string;
interface Packed {
  readonly filename: string;
  readonly size: number;
  readonly unpackedSize: number;
  readonly files: readonly string[];
}
const packed = new Map<string, Packed>();

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "edgeprop-packages-"));
  const tarballs = join(tmp, "tarballs");
  scratch = join(tmp, "scratch");
  await mkdir(tarballs);
  await mkdir(scratch);

  await sh(process.execPath, ["deploy/cloudflare/build.mjs"], repoRoot);
  await sh(process.execPath, ["deploy/build/packages.mjs"], repoRoot);
  for (const args of [["--workspaces"], []]) {
    const out = JSON.parse(await sh("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", tarballs, ...args], repoRoot)) as (Omit<Packed, "files"> & { name: string; files: { path: string }[] })[];
    for (const p of out) packed.set(p.name, { ...p, files: p.files.map((f) => f.path) });
  }
  const entries: Tarball[] = await Promise.all(PACKAGES.map(async ({ dir, name }) => ({
    manifest: JSON.parse(await readFile(join(repoRoot, dir, "package.json"), "utf8")),
    file: `../tarballs/${packed.get(name)!.filename}`,
  })));
  await writeFile(join(scratch, "package.json"), JSON.stringify({ name: "scratch", private: true, type: "module", dependencies: Object.fromEntries(entries.map((t) => [t.manifest.name, `file:${t.file}`])) }, null, 2));
  const repoLock = JSON.parse(await readFile(join(repoRoot, "package-lock.json"), "utf8"));
  await writeFile(join(scratch, "package-lock.json"), JSON.stringify(scratchLock(repoLock, entries), null, 2));
  await sh("npm", ["install", "--offline", "--no-audit", "--no-fund"], scratch);
  await writeFile(join(scratch, "sdk-example.mjs"), await readmeExample());

  // `npx edgeprop cluster up` in a process group of its own: stopping the group stops npx and the CLI, which stops its cluster.
  cluster = spawn("npx", ["edgeprop", "cluster", "up", "--port", "0", "--data-dir", join(tmp, "data")], { cwd: scratch, env: { ...userEnv, NO_COLOR: "1" }, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  cluster.stdout!.setEncoding("utf8").on("data", (s: string) => (output += s));
  cluster.stderr!.setEncoding("utf8").on("data", (s: string) => (output += s));
  const exited = () => cluster!.exitCode !== null || cluster!.signalCode !== null;
  await waitFor(() => output, (o) => /^coordinator: /m.test(o) || exited(), "the installed cluster's coordinator line", { timeoutMs: 120_000, intervalMs: 100 });
  if (exited()) throw new Error(`npx edgeprop cluster up exited: ${output}`);
  coordinatorUrl = /^coordinator: (http:\S+)$/m.exec(output)![1]!;
}, 600_000);

afterAll(async () => {
  if (cluster?.exitCode === null) {
    process.kill(-cluster.pid!, "SIGTERM");
    await once(cluster, "exit");
  }
  if (tmp) await rm(tmp, { recursive: true, force: true });
}, 60_000);

describe("the packages", () => {
  it("are small where they should be: the SDK under 100 KB packed, with no dependencies and no tests", async () => {
    const installed = await bytesUnder(join(scratch, "node_modules"));
    for (const [name, p] of packed) console.log(`${name}: ${(p.size / 1024).toFixed(1)} KiB packed, ${(p.unpackedSize / 1024).toFixed(1)} KiB unpacked, ${p.files.length} files`);
    console.log(`installed, all four with their dependencies: ${(installed / 2 ** 20).toFixed(1)} MiB`);
    expect(packed.get("@edgeprop/sdk")!.size).toBeLessThan(100_000);
    const sdk = JSON.parse(await readFile(join(scratch, "node_modules/@edgeprop/sdk/package.json"), "utf8"));
    expect(sdk.dependencies ?? {}).toEqual({});
    for (const [name, p] of packed) {
      expect(p.files.filter((f) => /(^|\/)(tests|bench)\/|\.test\.|\.ts$/.test(f) && !f.endsWith(".d.ts")), name).toEqual([]);
    }
    const sdkCode = await Promise.all(packed.get("@edgeprop/sdk")!.files.filter((f) => f.endsWith(".js")).map((f) => readFile(join(scratch, "node_modules/@edgeprop/sdk", f), "utf8")));
    expect(sdkCode.join("\n")).not.toMatch(/from "(node:|@tensorflow|@edgeprop)/);
  });

  it("run the README's SDK example on plain Node, importing @edgeprop/sdk, against `npx edgeprop cluster up`", async () => {
    const out = await sh(process.execPath, ["sdk-example.mjs"], scratch, { EDGEPROP_COORDINATOR: coordinatorUrl }, 120_000);
    expect(out).toMatch(/^done /m);
    expect(out).toMatch(/^predicted class [01], probabilities 0\.\d{3} 0\.\d{3}$/m);
  });

  it("give Deno the SDK by its package name too", async () => {
    const out = await sh(denoBin, ["run", "--allow-net=127.0.0.1", "--allow-env", "sdk-example.mjs"], scratch, { EDGEPROP_COORDINATOR: coordinatorUrl }, 120_000);
    expect(out).toMatch(/^done /m);
    expect(out).toMatch(/^predicted class [01], probabilities/m);
  });
});
