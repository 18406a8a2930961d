/**
 * The CLI as a user runs it: spawned processes, a real cluster. `cluster up`, `train --json`,
 * `status`, `predict`, `cancel` on a second job, exit codes; then the cluster is stopped and none
 * of its processes is left. And `npm start` (the demo) under CI=true.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { edgepropBin, repoRoot, runCommand } from "../helpers/processes.ts";
import { alive, descendantsOf } from "../helpers/process-tree.ts";
import { waitFor } from "../helpers/wait.ts";

let dir: string;
let cluster: ChildProcess;
let clusterOutput = "";
let coordinatorUrl = "";

const cli = (args: string[], timeoutMs = 120_000) => runCommand(process.execPath, [edgepropBin, ...args], { timeoutMs });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "edgeprop-cli-"));
  cluster = spawn(process.execPath, [edgepropBin, "cluster", "up", "--workers", "2", "--port", "0", "--data-dir", join(dir, "data")], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
  cluster.stdout!.setEncoding("utf8").on("data", (s: string) => (clusterOutput += s));
  cluster.stderr!.setEncoding("utf8").on("data", (s: string) => (clusterOutput += s));
  await waitFor(() => clusterOutput, (o) => /dashboard: /.test(o) || cluster.exitCode !== null, "`cluster up` to print its URLs");
  if (cluster.exitCode !== null) throw new Error(`cluster up failed: ${clusterOutput}`);
  coordinatorUrl = /coordinator: (http:\/\/\S+)/.exec(clusterOutput)![1];
}, 90_000);

afterAll(async () => {
  if (cluster && cluster.exitCode === null) cluster.kill("SIGKILL");
  await rm(dir, { recursive: true, force: true });
});

describe("the edgeprop CLI against a real cluster", () => {
  it("prints the cluster's URLs", () => {
    expect(clusterOutput).toMatch(/worker 1 \(deno\): http:\/\/127\.0\.0\.1:\d+/);
    expect(clusterOutput).toMatch(/worker 2 \(deno\): http:\/\/127\.0\.0\.1:\d+/);
  });

  it("trains with --json, shows status, predicts, cancels another job, and uploads a dataset", async () => {
    // The files of the README's five-minute tour.
    const spec = "docs/examples/moons-mlp.json";
    const trained = await cli(["train", spec, "--coordinator", coordinatorUrl, "--watch", "--json"]);
    expect(trained.code, trained.stderr).toBe(0);
    const events = trained.stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(events[0].event).toBe("submitted");
    const id = events[0].data.id as string;
    const types = new Set(events.map((e) => e.event));
    for (const t of ["progress", "metrics", "epoch", "done"]) expect(types.has(t), t).toBe(true);
    expect(events.at(-1).event).toBe("done");

    const status = await cli(["status", id, "--coordinator", coordinatorUrl]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`${id} \\(moons-mlp\\): succeeded`));
    expect(status.stdout).toMatch(/bias\/variance: (high bias|high variance|high bias and high variance|good fit)/);
    expect(status.stdout).toMatch(/^distribution: sync$/m);
    // What training cost on the link, as GET /v1/jobs/:id counts it.
    const { communication } = JSON.parse((await cli(["status", id, "--coordinator", coordinatorUrl, "--json"])).stdout);
    expect(communication.requests).toBeGreaterThan(0);
    expect(status.stdout).toContain(`communication: ${communication.requests} requests, `);
    expect(status.stdout).toMatch(/communication: \d+ requests, [\d.]+ [KMG]?B sent, [\d.]+ [KMG]?B received, [\d.]+ [KMG]?B per example/);

    const inputs = "docs/examples/moons-inputs.csv";
    const predicted = await cli(["predict", id, inputs, "--coordinator", coordinatorUrl]);
    expect(predicted.code, predicted.stderr).toBe(0);
    const rows = predicted.stdout.trim().split("\n");
    expect(rows[0]).toBe("class,p(0),p(1)"); // probability columns named by class
    expect(rows.length).toBe(3);
    for (const row of rows.slice(1)) {
      const [cls, p0, p1] = row.split(",");
      expect(["0", "1"]).toContain(cls);
      expect(Number(p0) + Number(p1)).toBeCloseTo(1, 5);
    }

    const long = join(dir, "long.json");
    await writeFile(long, JSON.stringify({ name: "long", dataset: { id: "builtin:moons" }, model: { input: [2], layers: [{ type: "dense", units: 2 }], output: "softmax" }, epochs: 5000 }));
    const submitted = await cli(["train", long, "--coordinator", coordinatorUrl]);
    expect(submitted.code).toBe(0);
    const longId = /submitted job (\S+)/.exec(submitted.stdout)![1];
    const cancelled = await cli(["cancel", longId, "--coordinator", coordinatorUrl]);
    expect(cancelled.code).toBe(0);
    expect(cancelled.stdout.trim()).toBe(`${longId}: cancelled`);

    const jobs = await cli(["jobs", "--coordinator", coordinatorUrl]);
    expect(jobs.stdout).toMatch(new RegExp(`${id}\\s+moons-mlp\\s+succeeded`));
    expect(jobs.stdout).toMatch(new RegExp(`${longId}\\s+long\\s+cancelled`));

    const csv = join(dir, "tiny.csv");
    await writeFile(csv, "a,b,label\n1,2,x\n2,1,y\n");
    const uploaded = await cli(["dataset", "upload", csv, "--label", "label", "--coordinator", coordinatorUrl]);
    expect(uploaded.code, uploaded.stderr).toBe(0);
    expect(uploaded.stdout).toMatch(/uploaded tiny: id ds_[0-9a-f]+, 2 rows, 2 features, 2 classes/);
  });

  it("follows a local-mode job: each epoch line shows the rounds done, the report the distribution and the rounds", async () => {
    const local = JSON.stringify({ mode: "local", replicas: 2, innerSteps: 3, innerState: "reset" });
    const trained = await cli(["train", "docs/examples/moons-mlp.json", "--coordinator", coordinatorUrl, "--watch", "--set", `distribution=${local}`]);
    expect(trained.code, trained.stderr).toBe(0);
    const text = trained.stdout + trained.stderr;
    const report = /^distribution: local 2×3 \(reset\), outer nesterov lr 0\.7 momentum 0\.9; (\d+)\/(\d+) rounds$/m.exec(text);
    expect(report, text).not.toBeNull();
    const total = Number(report![2]);
    expect(Number(report![1])).toBe(total);
    // moons-mlp trains 3 epochs, each with the same rounds: the epoch lines count a third of them at a time.
    const epochs = [...text.matchAll(/^epoch (\d)\/3: .*, round (\d+)\/(\d+)$/gm)];
    expect(epochs.map((e) => [Number(e[1]), Number(e[2]), Number(e[3])])).toEqual([1, 2, 3].map((e) => [e, (e * total) / 3, total]));
  });

  it("exits 2 with a one-line error for a bad spec, an unknown job and bad arguments", async () => {
    const bad = join(dir, "bad.json");
    await writeFile(bad, JSON.stringify({ dataset: { id: "builtin:moons" }, model: { input: [2], layers: [{ type: "dense", units: 2 }], output: "softmax" }, batchSize: -1 }));
    const rejected = await cli(["train", bad, "--coordinator", coordinatorUrl]);
    expect(rejected.code).toBe(2);
    expect(rejected.stderr.trim().split("\n").length).toBe(1);
    expect(rejected.stderr).toMatch(/'batchSize' must be in \[1, 65536\], current value is -1/);
    expect((await cli(["status", "job_000000000000000000000000", "--coordinator", coordinatorUrl])).code).toBe(2);
    expect((await cli(["train"])).code).toBe(2);
    expect((await cli(["cluster", "up", "--workers", "0"])).code).toBe(2);
    const unreachable = await cli(["jobs", "--coordinator", "http://127.0.0.1:9"]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/cannot reach the coordinator.*cluster up/);
  });

  it("stops the whole cluster on SIGINT and leaves no process behind", async () => {
    const descendants = descendantsOf(cluster.pid!);
    // Two workers and the coordinator (besides the TypeScript loader's own helper process).
    expect(descendants.filter(([, args]) => /edge-functions\/entry\/deno\.ts/.test(args)).length).toBe(2);
    expect(descendants.filter(([, args]) => /coordinator\/entry\/deno\.ts/.test(args)).length).toBe(1);
    const exited = once(cluster, "exit");
    cluster.kill("SIGINT");
    await exited;
    // The servers are gone when the CLI exits; tsx's esbuild helper exits when its stdin (a pipe
    // from the CLI) closes, which the OS reports a moment later: wait for that, bounded.
    await waitFor(() => descendants.filter(([pid]) => alive(pid)), (left) => left.length === 0, "the cluster's processes to exit", { timeoutMs: 5_000 });
  });
});

describe("npm start", () => {
  it("runs the demo to its final report under CI=true with --epochs 1", async () => {
    const out = await runCommand("npm", ["start", "--", "--epochs", "1", "--data-dir", join(dir, "demo")], { timeoutMs: 120_000, env: { CI: "true" } });
    expect(out.code, out.stderr).toBe(0);
    const text = out.stdout + out.stderr;
    expect(text).toMatch(/^epoch 1\/1: mean batch loss \d/m);
    expect(text).toMatch(/dev error \d+\.\d+%/);
    expect(text).toMatch(/train +loss \S+ +error \d/);
    expect(text).toMatch(/test +loss \S+ +error \d/);
    expect(text).toMatch(/bias\/variance: /);
    expect(text).toMatch(/^distribution: sync$/m);
    expect(text).toMatch(/^epoch 1\b.* ms\/step, [\d.]+ [KMG]?B\/example$/m);
    expect(text).toMatch(/communication: \d+ requests, [\d.]+ [KMG]?B sent, [\d.]+ [KMG]?B received, [\d.]+ [KMG]?B per example/);
    expect(text).toMatch(/model saved: \S+model\.msgpack/);
    expect(text).toMatch(/on builtin:mnist \([\d,]+ digits, split 60\/20\/20 into train\/dev\/test\)/);
    // No dashboard URL for a cluster that is gone: it says so, and how to keep it.
    expect(text).not.toMatch(/dashboard: http/);
    expect(text).toMatch(/^the cluster is stopped now; `npm start -- --keep` keeps it/m);
    // Non-TTY: plain lines, no progress-bar control characters.
    expect(text).not.toMatch(/\x1b\[/);
  }, 150_000);

  it("with --keep serves the dashboard after the report until Ctrl-C, then stops everything", async () => {
    const demo = spawn(process.execPath, [edgepropBin, "demo", "--epochs", "1", "--keep", "--data-dir", join(dir, "kept")], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, CI: "true" } });
    let output = "";
    demo.stdout!.setEncoding("utf8").on("data", (s: string) => (output += s));
    demo.stderr!.setEncoding("utf8").on("data", (s: string) => (output += s));
    try {
      await waitFor(() => output, (o) => /press Ctrl-C to stop it/.test(o) || demo.exitCode !== null, "the demo to report and keep its cluster", { timeoutMs: 120_000 });
      const url = /^dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/m.exec(output)?.[1];
      expect(url, output).toBeDefined();
      expect((await fetch(url!)).status).toBe(200);
      const descendants = descendantsOf(demo.pid!);
      const exited = once(demo, "exit");
      demo.kill("SIGINT");
      const [code] = await exited;
      expect(code).toBe(130);
      await waitFor(() => descendants.filter(([pid]) => alive(pid)), (left) => left.length === 0, "the demo's processes to exit", { timeoutMs: 5_000 });
    } finally {
      if (demo.exitCode === null) demo.kill("SIGKILL");
    }
  }, 150_000);
});
