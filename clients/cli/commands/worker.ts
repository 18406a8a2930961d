/**
 * `edgeprop worker [--runtime deno|node|workerd] [--port P] [--host H]`: serves one edge function
 * in the foreground. The runtime runs as a child process with this terminal's stdio (so its
 * "listening on URL" line and errors show as they are); SIGINT and SIGTERM are forwarded to it and
 * the command exits with its exit code. The secret comes from EDGEPROP_WORKER_SECRET (or
 * EDGEPROP_INSECURE=1 for local development), read by the worker itself.
 */
import { Command, Option } from "commander";
import { workerCommandLine, type WorkerRuntime } from "../../../deploy/local-cluster.ts";
import { runForeground } from "../server-process.ts";
import { UsageError } from "../usage-error.ts";

interface WorkerCommandOptions {
  runtime: WorkerRuntime;
  port: string;
  host: string;
}

export function workerCommand(): Command {
  return new Command("worker")
    .description(
      "Serve one edge function (POST /v1/gradients, POST /v1/evaluate, GET /v1/health) in the foreground. " +
        "Requests must be signed with EDGEPROP_WORKER_SECRET; EDGEPROP_INSECURE=1 accepts unsigned ones (local development only).",
    )
    .addOption(new Option("--runtime <name>", "runtime that serves it").choices(["deno", "node", "workerd"]).default("deno"))
    .option("--port <port>", "port to listen on (0: any free port)", "8787")
    .option("--host <host>", "interface to listen on", "127.0.0.1")
    .action(async (options: WorkerCommandOptions) => {
      process.exitCode = await serveWorker(options);
    });
}

async function serveWorker(options: WorkerCommandOptions): Promise<number> {
  const port = Number(options.port);
  if (!/^[0-9]{1,5}$/.test(options.port) || port > 65535) {
    throw new UsageError(`--port must be an integer in [0, 65535], current value is ${JSON.stringify(options.port)}`);
  }
  const insecure = process.env.EDGEPROP_INSECURE === "1" || process.env.EDGEPROP_INSECURE === "true";
  if (!process.env.EDGEPROP_WORKER_SECRET && !insecure) {
    throw new UsageError(
      "EDGEPROP_WORKER_SECRET is not set: set it to the secret shared with the coordinator (16+ characters), " +
        "or EDGEPROP_INSECURE=1 to accept unsigned requests (local development only)",
    );
  }
  return runForeground(workerCommandLine(options.runtime, options.host, port), `${options.runtime} worker`);
}
