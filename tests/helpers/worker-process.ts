/**
 * Real worker processes for tests and benchmarks: start the edge function of a runtime on a free
 * loopback port with the same command line as `edgeprop worker`, wait until `GET /v1/health`
 * answers, and stop it so that no process outlives the test.
 */
import type { ChildProcess } from "node:child_process";
import { workerCommandLine, type WorkerRuntime } from "../../deploy/local-cluster.ts";
import { startServer } from "./server-process.ts";

export type { WorkerRuntime };

export interface WorkerProcess {
  readonly runtime: WorkerRuntime;
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly child: ChildProcess;
  /** Everything the process wrote to stderr so far (for failure messages). */
  stderr(): string;
  /** Ends the process (SIGTERM, SIGKILL after `graceMs`) and waits for it to exit. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL at once (a crash); waits for the exit. */
  kill(): Promise<void>;
}

export interface StartOptions {
  /** EDGEPROP_WORKER_SECRET; without it the worker starts insecure (EDGEPROP_INSECURE=1). */
  readonly secret?: string;
  /** More environment variables (limits such as EDGEPROP_MAX_BODY_BYTES, ...). */
  readonly env?: Record<string, string>;
  readonly host?: string;
  /** How long to wait for the URL and a healthy answer (default 30 s). */
  readonly timeoutMs?: number;
}

/** Starts a worker and resolves once it is healthy. The caller must `stop()` it. */
export async function startWorker(runtime: WorkerRuntime, options: StartOptions = {}): Promise<WorkerProcess> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  delete env.EDGEPROP_WORKER_SECRET;
  delete env.EDGEPROP_INSECURE;
  if (options.secret) env.EDGEPROP_WORKER_SECRET = options.secret;
  else env.EDGEPROP_INSECURE = "1";
  const server = await startServer(`the ${runtime} worker`, {
    ...workerCommandLine(runtime, options.host ?? "127.0.0.1", 0),
    env,
    healthPath: "/v1/health",
    timeoutMs: options.timeoutMs,
  });
  return { runtime, url: server.url, child: server.child, stderr: server.stderr, stop: server.stop, kill: server.kill };
}
