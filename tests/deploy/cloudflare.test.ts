// The Cloudflare deployment, offline: `wrangler deploy --dry-run` (through deploy-many.mjs, N names,
// one secret) rebuilds the bundle itself, `wrangler dev` serves a signed gradient step of the
// reference MLP, and the CPU time such a step costs workerd is measured (the figure deploy/README.md
// gives for choosing a Cloudflare plan). Real processes; wrangler reaches no network beyond loopback
// (it prints a harmless lookup error for workers.cloudflare.com).
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, rm, stat, utimes } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { REFERENCE_MLP, referenceBatch } from "../../bench/reference.ts";
import { initParameters } from "../../core/model/parameters.ts";
import { parseModelSpec, planModel } from "../../core/model/spec.ts";
import { encode } from "../../core/wire/codec.ts";
import { decodeGradientsResponse } from "../../core/wire/messages.ts";
import { buildWorker } from "../../deploy/cloudflare/build.mjs";
import { repoRoot, runCommand } from "../helpers/processes.ts";
import { workerdPid } from "../runtimes/process-memory.ts";
import { waitFor } from "../helpers/wait.ts";
import { gradientsRequest } from "../helpers/wire-fixtures.ts";
import { signedRequest } from "../helpers/worker-client.ts";
import { startWorker } from "../helpers/worker-process.ts";

const SECRET = "cloudflare-deploy-secret-0123456789";
const wrangler = join(repoRoot, "node_modules/.bin/wrangler");
const bundle = join(repoRoot, "deploy/cloudflare/dist/worker.mjs");
const plan = planModel(parseModelSpec(REFERENCE_MLP));
const params = initParameters(plan, 1);
const quietEnv = { WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", EDGEPROP_WORKER_SECRET: SECRET };

/** A signed gradient request of `m` examples of the reference MLP, one chunk. */
function referenceStep(base: string, m: number, step: number): Promise<Request> {
  const body = encode(gradientsRequest(plan, REFERENCE_MLP, params, referenceBatch(m, step), { chunkSize: m, step, seed: 7 })).slice();
  return signedRequest(base, "/v1/gradients", body, { secret: SECRET });
}

/**
 * user + system CPU time so far of a process's main thread, in ms (/proc/<pid>/task/<pid>/stat
 * fields 14 and 15). In workerd that thread runs the isolate (and the HTTP parsing around it);
 * V8's helper threads (background GC, compilation: ~1–2 ms per request here) are left out, as
 * Cloudflare's CPU limit counts the isolate's own time.
 */
async function mainThreadCpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/task/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // USER_HZ is 100 on Linux
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, "close");
  return port;
}

const started: ChildProcess[] = [];
afterAll(async () => {
  for (const child of started) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    child.kill("SIGTERM");
    await Promise.race([once(child, "exit"), new Promise((r) => setTimeout(r, 5_000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
}, 30_000);

describe("Cloudflare deployment, offline", () => {
  it("deploy-many.mjs dry-runs N workers under N names with one secret, each rebuilding the bundle", async () => {
    // A stale bundle: wrangler's [build] must replace it, not upload it. (A clean clone has none
    // until something builds one.)
    await stat(bundle).catch(() => buildWorker());
    const old = new Date("2000-01-01T00:00:00Z");
    await utimes(bundle, old, old);
    const out = await runCommand(process.execPath, ["deploy/cloudflare/deploy-many.mjs", "--count", "2", "--prefix", "edgeprop-test", "--dry-run"], {
      env: quietEnv,
      timeoutMs: 120_000,
    });
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain("edgeprop-test-1 (1 of 2)");
    expect(out.stdout).toContain("edgeprop-test-2 (2 of 2)");
    expect(out.stdout.match(/\[custom build\] Running: npm run --silent build:worker/g)).toHaveLength(2);
    expect(out.stdout.match(/env\.EDGEPROP_WORKER_SECRET \("\(hidden\)"\)/g)).toHaveLength(2);
    expect(out.stdout).toContain("dry run of 2 worker(s) done, nothing uploaded");
    expect(out.stdout).not.toContain(SECRET);
    expect((await stat(bundle)).mtimeMs).toBeGreaterThan(old.getTime());
    // What was rebuilt is what build.mjs makes from the current sources.
    const fresh = await mkdtemp(join(tmpdir(), "edgeprop-bundle-"));
    try {
      await buildWorker({ outDir: fresh });
      expect((await readFile(bundle)).equals(await readFile(join(fresh, "worker.mjs")))).toBe(true);
    } finally {
      await rm(fresh, { recursive: true, force: true });
    }
  }, 150_000);

  it("deploy-many.mjs refuses a bad count or a missing secret before running wrangler", async () => {
    const bad = await runCommand(process.execPath, ["deploy/cloudflare/deploy-many.mjs", "--count", "0"], { env: quietEnv });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("'--count' must be an integer in [1, 64], current value is 0");
    const noSecret = await runCommand(process.execPath, ["deploy/cloudflare/deploy-many.mjs", "--count", "1"], { env: { ...quietEnv, EDGEPROP_WORKER_SECRET: "" } });
    expect(noSecret.code).toBe(2);
    expect(noSecret.stderr).toContain("EDGEPROP_WORKER_SECRET is not set");
  });

  it("wrangler dev serves a signed gradient step of the reference MLP", async () => {
    const port = await freePort();
    const child = spawn(wrangler, [
      "dev", "--config", "deploy/cloudflare/wrangler.toml", "--ip", "127.0.0.1", "--port", String(port),
      "--var", `EDGEPROP_WORKER_SECRET:${SECRET}`, "--show-interactive-dev-session=false",
    ], { cwd: repoRoot, env: { ...process.env, ...quietEnv }, stdio: ["ignore", "pipe", "pipe"] });
    started.push(child);
    let output = "";
    for (const stream of [child.stdout!, child.stderr!]) stream.setEncoding("utf8").on("data", (s: string) => (output += s));
    const base = `http://127.0.0.1:${port}`;
    const health = await waitFor(
      () => fetch(`${base}/v1/health`).then(async (r) => (r.ok ? r.json() : null), () => null),
      (h) => h !== null || child.exitCode !== null,
      `wrangler dev to answer /v1/health on ${base}`,
      { timeoutMs: 90_000, intervalMs: 200 },
    );
    expect(health, output).toMatchObject({ runtime: "workerd", backend: "wasm", auth: "hmac-sha256" });
    expect(output).toContain("[custom build] Running: npm run --silent build:worker");
    const response = await fetch(await referenceStep(base, 64, 0));
    const bytes = new Uint8Array(await response.arrayBuffer());
    expect(response.status, new TextDecoder().decode(bytes.subarray(0, 300))).toBe(200);
    expect(decodeGradientsResponse(bytes).count).toBe(64);
    const unsigned = await fetch(`${base}/v1/gradients`, { method: "POST", body: new Uint8Array(8) });
    expect(unsigned.status).toBe(401);
  }, 120_000);

  it("measures workerd's CPU time per gradient step of the reference MLP", async () => {
    const worker = await startWorker("workerd", { secret: SECRET, timeoutMs: 60_000 });
    try {
      const pid = workerdPid(worker.child.pid!);
      const lines: string[] = [];
      for (const m of [1, 64, 256]) {
        // Warm up (tfjs compiles its kernels and grows its heap on the first steps), then time.
        for (let i = 0; i < 3; i++) await (await fetch(await referenceStep(worker.url, m, i))).arrayBuffer();
        const requests = 12;
        const prepared = await Promise.all(Array.from({ length: requests }, (_, i) => referenceStep(worker.url, m, 10 + i)));
        const before = await mainThreadCpuMs(pid);
        for (const request of prepared) {
          const response = await fetch(request);
          const bytes = new Uint8Array(await response.arrayBuffer());
          expect(response.status).toBe(200);
          expect(decodeGradientsResponse(bytes).count).toBe(m);
        }
        const perRequest = ((await mainThreadCpuMs(pid)) - before) / requests;
        expect(perRequest).toBeGreaterThan(0);
        lines.push(`${m} examples: ${perRequest.toFixed(1)} ms`);
      }
      console.info(`[workerd cpu] reference MLP (${plan.parameterCount} parameters), CPU of workerd's main thread per gradient request: ${lines.join(", ")}`);
    } finally {
      await worker.stop();
    }
  }, 120_000);
});
