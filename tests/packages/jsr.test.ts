/**
 * The JSR side of the packages: `deno publish --dry-run` (offline: it checks the graph from
 * node_modules, resolves nothing remotely and uploads nothing), with the slow-type check on (no
 * --allow-slow-types), in core/ and in the staged @edgeprop/sdk, @edgeprop/worker and @edgeprop/edgeprop that
 * deploy/build/jsr.mjs writes to .build/jsr/ (their sources import core's files by relative path,
 * which JSR refuses between packages). --allow-dirty because the checkout has uncommitted work while
 * tests run.
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { denoBin, repoRoot } from "../helpers/processes.ts";

const run = promisify(execFile);

/** Runs the dry run in `dir` and returns its exit code and output (stdout and stderr together). */
async function dryRun(dir: string): Promise<{ code: number; output: string }> {
  const options = { cwd: join(repoRoot, dir), env: { ...process.env, NO_COLOR: "1" }, timeout: 170_000, maxBuffer: 16 << 20 };
  try {
    const { stdout, stderr } = await run(denoBin, ["publish", "--dry-run", "--allow-dirty"], options);
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const e = error as { code?: number | string; stdout?: string; stderr?: string };
    if (typeof e.code !== "number") throw error;
    return { code: e.code, output: (e.stdout ?? "") + (e.stderr ?? "") };
  }
}

describe("deno publish --dry-run", () => {
  beforeAll(async () => {
    await run(process.execPath, [join(repoRoot, "deploy/build/jsr.mjs")], { cwd: repoRoot, timeout: 60_000 });
  }, 70_000);

  it("passes for @edgeprop/core with its public types explicit, shipping the tfjs bundle and no dist/", async () => {
    const { code, output } = await dryRun("core");
    expect(output).not.toMatch(/^error/m);
    expect(code, output).toBe(0);
    expect(output).toContain("Simulating publish of @edgeprop/core@0.1.0");
    expect(output).toContain("Success Dry run complete");
    expect(output).toContain("/core/tfjs/bundle/tfjs.mjs");
    expect(output).toContain("/core/tfjs/bundle/tfjs-backend-wasm-simd.wasm");
    expect(output).toContain("/core/wire/message-types.ts");
    expect(output).not.toContain("/core/dist/");
  }, 180_000);

  it("passes for the staged @edgeprop/sdk, which carries the core files it uses instead of depending on core", async () => {
    const { code, output } = await dryRun(".build/jsr/sdk");
    expect(output).not.toMatch(/^(error|warning)/m);
    expect(code, output).toBe(0);
    expect(output).toContain("Simulating publish of @edgeprop/sdk@0.1.0");
    expect(output).toContain("Success Dry run complete");
    expect(output).toContain("/.build/jsr/sdk/clients/sdk/mod.ts");
    expect(output).toContain("/.build/jsr/sdk/core/sleep.ts");
    expect(output).not.toContain("tfjs");
  }, 180_000);

  it("passes for the staged @edgeprop/worker, which imports @edgeprop/core by name and export", async () => {
    const { code, output } = await dryRun(".build/jsr/worker");
    expect(output).not.toMatch(/^(error|warning)/m);
    expect(code, output).toBe(0);
    expect(output).toContain("Simulating publish of @edgeprop/worker@0.1.0");
    expect(output).toContain("Success Dry run complete");
    expect(output).toContain("/.build/jsr/worker/edge-functions/app.ts");
    expect(output).not.toMatch(/\/worker\/core\//);
    const app = await readFile(join(repoRoot, ".build/jsr/worker/edge-functions/app.ts"), "utf8");
    expect(app).toContain('from "@edgeprop/core/round"');
    expect(app).not.toContain("../core/");
  }, 180_000);

  it("passes for the staged @edgeprop/edgeprop (the root package), exporting the coordinator's Deno entry and importing core by name", async () => {
    const { code, output } = await dryRun(".build/jsr/edgeprop");
    expect(output).not.toMatch(/^(error|warning)/m);
    expect(code, output).toBe(0);
    expect(output).toContain("Simulating publish of @edgeprop/edgeprop@0.1.0");
    expect(output).toContain("Success Dry run complete");
    expect(output).toContain("/.build/jsr/edgeprop/coordinator/entry/deno.ts");
    expect(output).toContain("/.build/jsr/edgeprop/coordinator/training/trainer.ts");
    expect(output).not.toMatch(/\/edgeprop\/core\//);
    const trainer = await readFile(join(repoRoot, ".build/jsr/edgeprop/coordinator/training/trainer.ts"), "utf8");
    expect(trainer).toContain('from "@edgeprop/core/model/spec"');
    expect(trainer).not.toContain("../core/");
  }, 180_000);
});
