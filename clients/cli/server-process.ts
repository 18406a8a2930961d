/**
 * Runs a server process in the foreground: it inherits this terminal's stdio (so its "listening on
 * URL" line and errors show as they are), SIGINT/SIGTERM are forwarded to it, and the result is its
 * exit code (0 when it was stopped by the forwarded signal).
 */
import { spawn } from "node:child_process";
import { repoRoot } from "../../deploy/local-cluster.ts";

export function runForeground(command: { file: string; args: readonly string[] }, what: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command.file, command.args, { stdio: "inherit", cwd: repoRoot });
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.on("SIGINT", forward);
    process.on("SIGTERM", forward);
    const cleanup = () => {
      process.off("SIGINT", forward);
      process.off("SIGTERM", forward);
    };
    child.once("error", (error) => {
      cleanup();
      reject(new Error(`cannot start the ${what} (${command.file}): ${error.message}`));
    });
    child.once("exit", (code, signal) => {
      cleanup();
      resolve(code ?? (signal === "SIGINT" || signal === "SIGTERM" ? 0 : 1));
    });
  });
}
