#!/usr/bin/env node
// Deploys N copies of the worker to Cloudflare under N names with one shared secret:
//
//   EDGEPROP_WORKER_SECRET=... node deploy/cloudflare/deploy-many.mjs --count 4 [--prefix edgeprop-worker] [--dry-run]
//
// Each copy is `wrangler deploy --name <prefix>-<i> --secrets-file <file>` (wrangler.toml's [build]
// rebuilds the bundle first), so the secret is set in the same upload as the code and never appears
// on a command line; the file is private to this process and removed afterwards. Prints the URLs
// wrangler reports and an EDGEPROP_WORKERS line to give the coordinator. `--dry-run` is wrangler's:
// everything but the upload, offline and without an account.
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const here = dirname(fileURLToPath(import.meta.url));
const wrangler = join(here, "..", "..", "node_modules", ".bin", "wrangler");
const MAX_COUNT = 64;

/** Runs wrangler, echoing its output, and resolves with what it printed on stdout. */
function runWrangler(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(wrangler, args, { stdio: ["ignore", "pipe", "inherit"] });
    let stdout = "";
    child.stdout.setEncoding("utf8").on("data", (s) => {
      stdout += s;
      process.stdout.write(s);
    });
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`wrangler ${args.join(" ")} failed (${signal ?? `exit code ${code}`})`));
    });
  });
}

function fail(message) {
  console.error(`deploy-many: ${message}`);
  process.exit(2);
}

const { values } = parseArgs({
  options: {
    count: { type: "string" },
    prefix: { type: "string", default: "edgeprop-worker" },
    "dry-run": { type: "boolean", default: false },
  },
});
const count = Number(values.count);
if (!Number.isInteger(count) || count < 1 || count > MAX_COUNT) {
  fail(`'--count' must be an integer in [1, ${MAX_COUNT}], current value is ${values.count ?? "(missing)"}`);
}
// Worker names are DNS labels (<name>.<account>.workers.dev): lower-case letters, digits, dashes.
if (!/^[a-z0-9](?:[a-z0-9-]{0,50}[a-z0-9])?$/.test(values.prefix)) {
  fail(`'--prefix' must be lower-case letters, digits and inner dashes (at most 52), current value is '${values.prefix}'`);
}
const secret = process.env.EDGEPROP_WORKER_SECRET;
if (!secret) fail("EDGEPROP_WORKER_SECRET is not set: export the cluster's secret first (deploy/README.md)");

const dir = await mkdtemp(join(tmpdir(), "edgeprop-deploy-"));
const secretsFile = join(dir, "secrets.json");
const urls = [];
try {
  await writeFile(secretsFile, JSON.stringify({ EDGEPROP_WORKER_SECRET: secret }), { mode: 0o600 });
  for (let i = 1; i <= count; i++) {
    const name = `${values.prefix}-${i}`;
    console.log(`deploy-many: ${name} (${i} of ${count})`);
    const out = await runWrangler([
      "deploy", "--config", join(here, "wrangler.toml"), "--name", name, "--secrets-file", secretsFile,
      ...(values["dry-run"] ? ["--dry-run"] : []),
    ]);
    const url = /https:\/\/\S+\.workers\.dev/.exec(out)?.[0];
    if (url) urls.push(url);
  }
} catch (error) {
  console.error(`deploy-many: ${error instanceof Error ? error.message : error}`);
  process.exitCode = 1;
} finally {
  await rm(dir, { recursive: true, force: true });
}
if (process.exitCode !== 1) {
  console.log(values["dry-run"] ? `deploy-many: dry run of ${count} worker(s) done, nothing uploaded` : `deploy-many: ${count} worker(s) deployed`);
  if (urls.length) console.log(`EDGEPROP_WORKERS=${urls.join(",")}`);
}
