/**
 * A real server process for tests: spawn it with `--port 0`, read the URL it prints, wait until a
 * health URL answers, and stop it (SIGTERM, then SIGKILL) so no process outlives the test.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { repoRoot } from "./processes.ts";

export interface ServerProcess {
  readonly url: string;
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; waits for the exit. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL at once (a crash); waits for the exit. */
  kill(): Promise<void>;
}

export interface ServerSpawn {
  readonly file: string;
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  /** Path answered with 2xx once the server is ready. */
  readonly healthPath: string;
  readonly timeoutMs?: number;
  readonly headers?: Record<string, string>;
}

export async function startServer(what: string, options: ServerSpawn): Promise<ServerProcess> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const child = spawn(options.file, [...options.args], { cwd: repoRoot, env: { NO_COLOR: "1", ...(options.env ?? process.env) }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (s: string) => (stdout += s));
  child.stderr!.setEncoding("utf8").on("data", (s: string) => (stderr += s));
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
  try {
    const deadline = Date.now() + timeoutMs;
    let url: string | undefined;
    for (;;) {
      url = /listening on (http:\/\/\S+?)(;|\s|$)/.exec(stdout)?.[1];
      if (url) break;
      if (!alive()) throw new Error(`exited with code ${child.exitCode}`);
      if (Date.now() > deadline) throw new Error(`printed no URL within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
    for (;;) {
      try {
        const response = await fetch(url + options.healthPath, { headers: options.headers, signal: AbortSignal.timeout(2_000) });
        await response.arrayBuffer();
        if (response.ok) break;
      } catch {
        // not accepting connections yet
      }
      if (!alive()) throw new Error(`exited with code ${child.exitCode}`);
      if (Date.now() > deadline) throw new Error(`was not ready within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return { url, child, stdout: () => stdout, stderr: () => stderr, stop, kill };
  } catch (error) {
    await stop(1_000);
    throw new Error(`Cannot start ${what}: it ${(error as Error).message}\nstdout: ${stdout}\nstderr: ${stderr}`);
  }
}
