/** Spawning the project's runtimes from tests: the deno binary comes from the npm package. */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

export const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
export const denoBin = `${repoRoot}node_modules/.bin/deno`;
export const edgepropBin = `${repoRoot}clients/cli/bin.mjs`;

const run = promisify(execFile);

export interface Output {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion in the repository root and returns its exit code and output. */
export async function runCommand(file: string, args: readonly string[], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<Output> {
  try {
    const { stdout, stderr } = await run(file, args as string[], {
      cwd: repoRoot,
      timeout: options.timeoutMs ?? 60_000,
      env: { ...process.env, NO_COLOR: "1", ...options.env },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number | string; stdout?: string; stderr?: string; message: string };
    if (typeof e.code !== "number") throw error;
    return { code: e.code, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}
