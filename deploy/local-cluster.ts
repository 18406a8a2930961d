/**
 * The local multi-process cluster: edge workers and a coordinator as separate processes on
 * loopback, with a generated shared secret. Used by `edgeprop cluster up`, the demo (`npm start`)
 * and the e2e tests. Every process it starts is stopped by `stop()` (SIGTERM, then SIGKILL): the
 * coordinator first, then the workers, so that the coordinator's own shutdown (which keeps running
 * jobs resumable) is not raced by its workers dying under a step.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

// In the repository this file is TypeScript (run by tsx or Deno) and so are the programs it starts;
// in the installed `edgeprop` package it is dist/deploy/local-cluster.js, next to the compiled
// coordinator, and the worker's files are in the @edgeprop/worker package.
const compiled = import.meta.url.endsWith(".js");

/** The folder of the edgeprop package: the repository, or where npm installed `edgeprop`. */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), compiled ? "../.." : "..");

/** A program file given by its repository path without extension (e.g. `coordinator/entry/node`). */
function programFile(path: string): string {
  if (!compiled) return join(repoRoot, `${path}.ts`);
  const worker = /^edge-functions\/(.*)$/.exec(path);
  return worker ? createRequire(import.meta.url).resolve(`@edgeprop/worker/${worker[1]}.js`) : join(repoRoot, "dist", `${path}.js`);
}

/** Node flags that let Node run the program files: tsx for the TypeScript sources, none for compiled ones. */
const nodeFlags = compiled ? [] : ["--import", "tsx"];

export type WorkerRuntime = "deno" | "node" | "workerd";
export type ServerRuntime = "deno" | "node";

/** Path of the deno binary installed by npm (the `deno` package). */
export function denoBinary(): string {
  return join(dirname(createRequire(import.meta.url).resolve("deno/package.json")), "deno");
}

/** Deno permissions of the coordinator: network, its data directory and the tfjs files, env, system info. */
export const COORDINATOR_DENO_PERMISSIONS = ["--allow-net", "--allow-read", "--allow-write", "--allow-env", "--allow-sys"];

/** The command that serves one worker of `runtime` on `host:port` (port 0: any free port). */
export function workerCommandLine(runtime: WorkerRuntime, host: string, port: number): { file: string; args: string[] } {
  const where = ["--port", String(port), "--host", host];
  switch (runtime) {
    case "deno":
      // Least privilege: the network on the listening host, reading the tfjs .wasm files, the environment.
      return { file: denoBinary(), args: ["run", `--allow-net=${host}`, "--allow-read", "--allow-env", programFile("edge-functions/entry/deno"), ...where] };
    case "node":
      return { file: process.execPath, args: [...nodeFlags, programFile("edge-functions/entry/node"), ...where] };
    case "workerd":
      // serve.mjs runs the workerd build under miniflare, a development tool of the repository.
      if (compiled) throw new Error("Workers on workerd run from the repository (`npm run build` there); the @edgeprop/worker package ships their workerd build for wrangler");
      return { file: process.execPath, args: [join(repoRoot, "deploy/cloudflare/serve.mjs"), ...where] };
  }
}

/** The command that serves the coordinator (extra flags such as `--port`, `--workers` appended by the caller). */
export function coordinatorCommandLine(runtime: ServerRuntime): { file: string; args: string[] } {
  if (runtime === "deno") return { file: denoBinary(), args: ["run", ...COORDINATOR_DENO_PERMISSIONS, programFile("coordinator/entry/deno")] };
  return { file: process.execPath, args: [...nodeFlags, programFile("coordinator/entry/node")] };
}

export interface ManagedProcess {
  readonly name: string;
  readonly url: string;
  readonly child: ChildProcess;
  /** What the process wrote so far on each stream (the last 50–100 kB). */
  stdout(): string;
  stderr(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; waits for the exit. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL at once (a crash); waits for the exit. */
  kill(): Promise<void>;
}

export interface StartOptions {
  /** How long to wait for the "listening on" line (default 60 s). */
  readonly timeoutMs?: number;
  /**
   * Start the process in a process group of its own, so that a terminal's Ctrl-C (sent to the whole
   * foreground group) reaches only the parent, which then stops its children in order.
   */
  readonly ownProcessGroup?: boolean;
  /** Aborting it while the process starts stops the process and rejects. */
  readonly signal?: AbortSignal;
}

/** Starts a server process and waits for its "listening on URL" line (its output is kept for errors). */
export async function startServerProcess(name: string, command: { file: string; args: readonly string[] }, env: NodeJS.ProcessEnv, options: StartOptions = {}): Promise<ManagedProcess> {
  const child = spawn(command.file, [...command.args], { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"], detached: options.ownProcessGroup ?? false });
  const output = { stdout: "", stderr: "" };
  for (const stream of ["stdout", "stderr"] as const) {
    child[stream]!.setEncoding("utf8").on("data", (s: string) => {
      output[stream] += s;
      if (output[stream].length > 100_000) output[stream] = output[stream].slice(-50_000);
    });
  }
  const exited = once(child, "exit");
  const alive = () => child.exitCode === null && child.signalCode === null;
  const stop = async (graceMs = 5_000) => {
    if (!alive()) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    try {
      await exited;
    } finally {
      clearTimeout(timer);
    }
  };
  const kill = async () => {
    if (!alive()) return;
    child.kill("SIGKILL");
    await exited;
  };
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    const url = /listening on (http:\/\/[^\s;]+)/.exec(output.stdout)?.[1];
    if (url) return { name, url, child, stdout: () => output.stdout, stderr: () => output.stderr, stop, kill };
    if (options.signal?.aborted) {
      await stop(500);
      throw new Error(`${name} was stopped while starting`);
    }
    if (!alive() || Date.now() > deadline) {
      await stop(500);
      const last = `${output.stdout}\n${output.stderr}`.trim().split("\n").slice(-5).join(" | ");
      throw new Error(`${name} did not start: ${last || "no output"}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

export interface ClusterOptions {
  readonly workers?: number;
  readonly runtime?: WorkerRuntime;
  readonly coordinatorRuntime?: ServerRuntime;
  /** Coordinator port (0: any free port). */
  readonly port?: number;
  readonly host?: string;
  readonly dataDir?: string;
  readonly apiToken?: string;
  /** Aborting it during start-up stops the processes started so far and rejects. */
  readonly signal?: AbortSignal;
}

export interface Cluster {
  readonly coordinatorUrl: string;
  readonly workerUrls: readonly string[];
  readonly processes: readonly ManagedProcess[];
  readonly dataDir: string;
  stop(): Promise<void>;
}

/** Starts `workers` edge workers and a coordinator that uses them, sharing a fresh secret. */
export async function startLocalCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const host = options.host ?? "127.0.0.1";
  const runtime = options.runtime ?? "deno";
  const count = options.workers ?? 2;
  if (!Number.isInteger(count) || count < 1 || count > 64) {
    throw new RangeError(`Cannot start cluster: '--workers' must be an integer in [1, 64], current value is ${count}`);
  }
  const secret = randomBytes(24).toString("base64url");
  const env: NodeJS.ProcessEnv = { ...process.env, EDGEPROP_WORKER_SECRET: secret, NO_COLOR: "1" };
  delete env.EDGEPROP_INSECURE;
  if (options.apiToken) env.EDGEPROP_API_TOKEN = options.apiToken;
  // Absolute: the processes run in the package's folder (repoRoot), the path is the caller's.
  const dataDir = resolve(options.dataDir ?? ".edgeprop");
  const start = { ownProcessGroup: true, signal: options.signal };
  const workers: ManagedProcess[] = [];
  let coordinator: ManagedProcess | undefined;
  const stop = async () => {
    await coordinator?.stop();
    await Promise.all(workers.map((p) => p.stop()));
  };
  try {
    const started = await Promise.allSettled(
      Array.from({ length: count }, (_, i) => startServerProcess(`worker ${i + 1} (${runtime})`, workerCommandLine(runtime, host, 0), env, start)),
    );
    for (const s of started) if (s.status === "fulfilled") workers.push(s.value);
    const failed = started.find((s) => s.status === "rejected");
    if (failed) throw failed.reason;
    const command = coordinatorCommandLine(options.coordinatorRuntime ?? "deno");
    command.args.push("--port", String(options.port ?? 8080), "--host", host, "--data-dir", dataDir, "--workers", workers.map((w) => w.url).join(","));
    coordinator = await startServerProcess("coordinator", command, env, start);
    return { coordinatorUrl: coordinator.url, workerUrls: workers.map((w) => w.url), processes: [...workers, coordinator], dataDir, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
