/**
 * A real server process for tests: started with deploy/local-cluster.ts's startServerProcess (spawn,
 * wait for the URL it prints, SIGTERM then SIGKILL on stop), then waited on until a health URL
 * answers, so no test talks to a server that is not ready and no process outlives the test.
 */
import { type ManagedProcess, startServerProcess } from "../../deploy/local-cluster.ts";

export type ServerProcess = Omit<ManagedProcess, "name">;

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
  const deadline = Date.now() + timeoutMs;
  let server: ManagedProcess;
  try {
    server = await startServerProcess(what, options, { NO_COLOR: "1", ...(options.env ?? process.env) }, { timeoutMs });
  } catch (error) {
    throw new Error(`Cannot start ${what}: ${(error as Error).message}`);
  }
  try {
    for (;;) {
      try {
        const response = await fetch(server.url + options.healthPath, { headers: options.headers, signal: AbortSignal.timeout(2_000) });
        await response.arrayBuffer();
        if (response.ok) break;
      } catch {
        // not accepting connections yet
      }
      if (server.child.exitCode !== null || server.child.signalCode !== null) throw new Error(`exited with code ${server.child.exitCode}`);
      if (Date.now() > deadline) throw new Error(`was not ready within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return server;
  } catch (error) {
    await server.stop(1_000);
    throw new Error(`Cannot start ${what}: it ${(error as Error).message}\nstdout: ${server.stdout()}\nstderr: ${server.stderr()}`);
  }
}
