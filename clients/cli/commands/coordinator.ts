/** `edgeprop coordinator`: serves the coordinator in the foreground (Deno by default). */
import { resolve } from "node:path";
import { Command, Option } from "commander";
import { coordinatorCommandLine, type ServerRuntime } from "../../../deploy/local-cluster.ts";
import { runForeground } from "../server-process.ts";

export function coordinatorCommand(): Command {
  return new Command("coordinator")
    .description("Serve the coordinator (job API, scheduler, job store) in the foreground.")
    .addOption(new Option("--runtime <name>", "runtime to serve it on").choices(["deno", "node"]).default("deno"))
    .option("--port <port>", "port to listen on", "8080")
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option("--data-dir <dir>", "job store directory (EDGEPROP_DATA_DIR)", "./.edgeprop")
    .option("--workers <urls>", "comma-separated worker URLs for jobs that name none (EDGEPROP_WORKERS)")
    .action(async (options: { runtime: ServerRuntime; port: string; host: string; dataDir: string; workers?: string }) => {
      const command = coordinatorCommandLine(options.runtime);
      // resolve(): the process runs in the package's folder, the path is relative to where this command runs.
      command.args.push("--port", options.port, "--host", options.host, "--data-dir", resolve(options.dataDir));
      if (options.workers) command.args.push("--workers", options.workers);
      process.exitCode = await runForeground(command, "coordinator");
    });
}
