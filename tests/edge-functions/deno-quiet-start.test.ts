/**
 * A Deno worker started where XDG_RUNTIME_DIR is unset (a server, a container, CI) prints nothing
 * alarming: its WebGPU probe (requestAdapter, on the first GET /v1/health) goes through Mesa's
 * device-select layer, whose Wayland lookup made libwayland print "error: XDG_RUNTIME_DIR is invalid
 * or not set in the environment." twice.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorker, type WorkerProcess } from "../helpers/worker-process.ts";

let worker: WorkerProcess;

beforeAll(async () => {
  delete process.env.XDG_RUNTIME_DIR; // this file's worker thread only; the child inherits it unset
  worker = await startWorker("deno", { secret: "quiet-start-secret-0123456789" });
}, 60_000);

afterAll(async () => {
  await worker?.stop();
});

describe("the Deno worker's start", () => {
  it("has no error on stderr after probing its backends", async () => {
    const health = await fetch(`${worker.url}/v1/health`);
    expect(health.status).toBe(200);
    const body = (await health.json()) as { backends: string[] };
    expect(body.backends).toContain("wasm");
    expect(worker.stderr()).not.toMatch(/error/i);
  });
});
