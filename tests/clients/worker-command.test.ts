// `edgeprop worker`: serves a worker in the foreground, prints its URL, forwards SIGTERM and exits
// with the worker's code; refuses to start without a secret.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { describe, expect, it } from "vitest";
import { repoRoot, runCommand } from "../helpers/processes.ts";

const harness = ["clients/cli/bin.mjs", "worker"];

async function serveAndStop(runtime: string): Promise<{ health: Record<string, unknown>; code: number | null }> {
  const env: NodeJS.ProcessEnv = { ...process.env, EDGEPROP_WORKER_SECRET: "cli-test-secret-0123456789" };
  delete env.EDGEPROP_INSECURE;
  const child = spawn(process.execPath, [...harness, "--runtime", runtime, "--port", "0"], { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.setEncoding("utf8").on("data", (s: string) => (out += s));
  child.stderr!.setEncoding("utf8").on("data", (s: string) => (out += s));
  const exited = once(child, "exit");
  try {
    const deadline = Date.now() + 30_000;
    let url: string | undefined;
    while (!(url = /listening on (http:\/\/\S+)/.exec(out)?.[1])) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no URL printed: ${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const health = (await (await fetch(`${url}/v1/health`)).json()) as Record<string, unknown>;
    child.kill("SIGTERM");
    const [code] = await exited;
    return { health, code: code as number | null };
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
  }
}

describe("edgeprop worker", () => {
  it.each(["deno", "node"])("serves a %s worker, prints its URL and stops on SIGTERM", async (runtime) => {
    const { health, code } = await serveAndStop(runtime);
    expect(health).toMatchObject({ runtime, auth: "hmac-sha256", backend: "wasm" });
    expect(code).toBe(0);
  });

  it("refuses to start without EDGEPROP_WORKER_SECRET (exit code 2)", async () => {
    const out = await runCommand(process.execPath, [...harness, "--port", "0"], { env: { EDGEPROP_WORKER_SECRET: "", EDGEPROP_INSECURE: "" } });
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/EDGEPROP_WORKER_SECRET is not set/);
  });

  it("rejects a bad port (exit code 2)", async () => {
    const out = await runCommand(process.execPath, [...harness, "--port", "70000"], { env: { EDGEPROP_INSECURE: "1" } });
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/--port must be an integer/);
  });
});
