// The Deno Deploy upload, offline: deploy/deno/build.mjs makes a directory that holds the worker and
// what it imports (no node_modules, no repository), and that directory alone serves a signed gradient
// step of the reference MLP under Deno with read access to nothing else. What the platform adds
// (the account, the upload) is written as commands in deploy/deno/README.md.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { REFERENCE_MLP, referenceBatch } from "../../bench/reference.ts";
import { initParameters } from "../../core/model/parameters.ts";
import { parseModelSpec, planModel } from "../../core/model/spec.ts";
import { encode } from "../../core/wire/codec.ts";
import { decodeGradientsResponse } from "../../core/wire/messages.ts";
import { buildDenoWorker } from "../../deploy/deno/build.mjs";
import { denoBin, repoRoot, runCommand } from "../helpers/processes.ts";
import { startServer } from "../helpers/server-process.ts";
import { gradientsRequest } from "../helpers/wire-fixtures.ts";
import { signedRequest } from "../helpers/worker-client.ts";

const SECRET = "deno-deploy-secret-0123456789abcdef";
const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe("Deno Deploy upload, offline", () => {
  it("holds main.mjs, the wasm files and a deno.json naming the app, and serves a signed step on its own", async () => {
    const outDir = join(await mkdtemp(join(tmpdir(), "edgeprop-deno-upload-")), "upload");
    dirs.push(dirname(outDir));
    const { files } = await buildDenoWorker({ outDir, org: "acme", app: "edgeprop-worker" });
    expect(Object.keys(files)).toEqual(["deno.json", "main.mjs", "tfjs-backend-wasm-simd.wasm", "tfjs-backend-wasm.wasm"]);
    expect(Object.values(files).reduce((a, b) => a + b, 0)).toBeLessThan(4 * 1024 * 1024);
    expect(JSON.parse(await readFile(join(outDir, "deno.json"), "utf8"))).toEqual({ deploy: { org: "acme", app: "edgeprop-worker" } });

    // Only the upload may be read: a leftover import of the repository or of node_modules fails here.
    const worker = await startServer("the uploaded Deno worker", {
      file: denoBin,
      args: ["run", "--no-config", "--allow-net=127.0.0.1", `--allow-read=${outDir}`, "--allow-env", join(outDir, "main.mjs"), "--port", "0", "--host", "127.0.0.1"],
      env: { ...process.env, EDGEPROP_WORKER_SECRET: SECRET, EDGEPROP_INSECURE: "" },
      healthPath: "/v1/health",
    });
    try {
      const health = await (await fetch(`${worker.url}/v1/health`)).json();
      expect(health).toMatchObject({ runtime: "deno", backend: "wasm", simd: true, auth: "hmac-sha256" });
      const plan = planModel(parseModelSpec(REFERENCE_MLP));
      const body = encode(gradientsRequest(plan, REFERENCE_MLP, initParameters(plan, 1), referenceBatch(32, 1), { chunkSize: 32, step: 0, seed: 7 })).slice();
      const response = await fetch(await signedRequest(worker.url, "/v1/gradients", body, { secret: SECRET }));
      const bytes = new Uint8Array(await response.arrayBuffer());
      expect(response.status, new TextDecoder().decode(bytes.subarray(0, 300))).toBe(200);
      expect(decodeGradientsResponse(bytes).count).toBe(32);
      expect(worker.stderr()).not.toMatch(/error/i);
    } finally {
      await worker.stop();
    }
  }, 90_000);

  it("refuses to build into the repository", async () => {
    await expect(buildDenoWorker({ outDir: repoRoot })).rejects.toThrow(/would replace the repository/);
    const out = await runCommand(process.execPath, ["deploy/deno/build.mjs", "--out", "."]);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain("would replace the repository");
  });
});
