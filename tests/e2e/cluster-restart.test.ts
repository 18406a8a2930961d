/**
 * `cluster up` stopped and started again on one data directory: Ctrl-C (SIGINT to the CLI's whole
 * process group, as a terminal sends it) leaves the running job resumable, the next `cluster up`
 * (new worker ports) resumes it to success, and SIGTERM leaves none of the CLI's processes behind.
 */
import { FileStore } from "../../coordinator/store/file-store.ts";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api } from "../helpers/api.ts";
import { edgepropBin, repoRoot } from "../helpers/processes.ts";
import { alive, descendantsOf } from "../helpers/process-tree.ts";
import { waitFor } from "../helpers/wait.ts";

interface ClusterUp {
  readonly child: ChildProcess;
  readonly coordinatorUrl: string;
  output(): string;
}

const started: ChildProcess[] = [];
let dir: string;

/** Runs `cluster up` in a process group of its own (so a group signal is what a terminal's Ctrl-C is). */
async function clusterUp(dataDir: string): Promise<ClusterUp> {
  const child = spawn(process.execPath, [edgepropBin, "cluster", "up", "--workers", "1", "--port", "0", "--data-dir", dataDir], {
    cwd: repoRoot,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  started.push(child);
  let output = "";
  child.stdout!.setEncoding("utf8").on("data", (s: string) => (output += s));
  child.stderr!.setEncoding("utf8").on("data", (s: string) => (output += s));
  await waitFor(() => output, (o) => /dashboard: /.test(o) || child.exitCode !== null, "`cluster up` to print its URLs", { timeoutMs: 60_000 });
  const coordinatorUrl = /coordinator: (http:\/\/\S+)/.exec(output)?.[1];
  if (!coordinatorUrl) throw new Error(`cluster up failed: ${output}`);
  return { child, coordinatorUrl, output: () => output };
}

/** Pids of the processes under `child` whose command line matches `pattern`. */
function processesOf(child: ChildProcess, pattern: RegExp): number[] {
  return descendantsOf(child.pid!).filter(([, args]) => pattern.test(args)).map(([pid]) => pid);
}

/** Whether `pid` runs (exists and is not a zombie waiting to be reaped). */
function running(pid: number): boolean {
  try {
    return !/^Z/.test(execFileSync("ps", ["-o", "stat=", "-p", String(pid)], { encoding: "utf8" }).trim());
  } catch {
    return false; // ps exits 1 when there is no such process
  }
}

/** The job's status as stored on disk (read the way the coordinator reads it: the files carry a checksum header). */
async function storedStatus(id: string): Promise<string | undefined> {
  return (await new FileStore(join(dir, "data")).getJob(id))?.status;
}

const job = {
  name: "restart",
  dataset: { id: "builtin:moons" },
  model: { input: [2], layers: [{ type: "dense", units: 16 }, { type: "relu" }, { type: "dense", units: 2 }], output: "softmax" },
  epochs: 40,
  seed: 3,
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "edgeprop-cluster-restart-"));
});

afterAll(async () => {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, "SIGKILL");
  await rm(dir, { recursive: true, force: true });
});

describe("cluster up, stopped and started again", () => {
  it("keeps a job running over Ctrl-C, resumes it on the next cluster's workers, and leaves no process after SIGTERM", async () => {
    const first = await clusterUp(join(dir, "data"));
    const submitted = await api(first.coordinatorUrl, "/v1/jobs", { body: job });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
    const id = submitted.body.id as string;
    const underWay = await waitFor(
      async () => (await api(first.coordinatorUrl, `/v1/jobs/${id}`)).body,
      (record) => record.progress.epoch >= 2 || record.status !== "running" && record.status !== "queued",
      "the job to train two epochs",
    );
    expect(underWay.status, underWay.error).toBe("running"); // it must be stopped mid-training

    // Ctrl-C while the coordinator cannot act yet (SIGSTOP): its workers must outlive it, since a
    // worker that dies under a running step fails the job instead of leaving it resumable.
    const [coordinator] = processesOf(first.child, /coordinator\/entry\/deno\.ts/);
    const [worker] = processesOf(first.child, /edge-functions\/entry\/deno\.ts/);
    process.kill(coordinator, "SIGSTOP");
    const firstExit = once(first.child, "exit");
    try {
      process.kill(-first.child.pid!, "SIGINT");
      await waitFor(() => first.output(), (o) => o.includes("stopping the cluster..."), "`cluster up` to handle Ctrl-C");
      expect(running(worker), "the worker is still running while the coordinator stops").toBe(true);
    } finally {
      process.kill(coordinator, "SIGCONT");
    }
    await firstExit;
    expect(await storedStatus(id), first.output()).toBe("running");

    const second = await clusterUp(join(dir, "data"));
    const descendants = descendantsOf(second.child.pid!);
    expect(processesOf(second.child, /edge-functions\/entry\/deno\.ts/).length).toBe(1);
    expect(processesOf(second.child, /coordinator\/entry\/deno\.ts/).length).toBe(1);
    const done = await waitFor(
      async () => (await api(second.coordinatorUrl, `/v1/jobs/${id}`)).body,
      (record) => record.status !== "running" && record.status !== "queued",
      "the resumed job to finish",
      { timeoutMs: 120_000, intervalMs: 100 },
    );
    expect(done.status, done.error).toBe("succeeded");
    expect(done.workers).toEqual([/worker 1 \(deno\): (http:\/\/\S+)/.exec(second.output())![1]]);

    const secondExit = once(second.child, "exit");
    second.child.kill("SIGTERM");
    await secondExit;
    // tsx's esbuild helper exits when its stdin (a pipe from the CLI) closes, a moment later.
    await waitFor(() => descendants.filter(([pid]) => alive(pid)), (left) => left.length === 0, "the cluster's processes to exit", { timeoutMs: 10_000 });
    expect(second.output()).not.toMatch(/a cluster process exited/);
  }, 240_000);
});
