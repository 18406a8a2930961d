/**
 * The SSE loop of `GET /v1/jobs/:id/events` waits for the next event with a 15 s heartbeat timer:
 * every wake-up by an event must clear it, or a busy stream leaves one pending timer per event
 * (each holding the stream's closure for 15 s). Counted with spies on setTimeout/clearTimeout.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { useBackend } from "../../core/tf.ts";
import { createCoordinatorApp } from "../../coordinator/app.ts";
import { DatasetRegistry } from "../../coordinator/datasets/registry.ts";
import { JobManager } from "../../coordinator/jobs/job-manager.ts";
import { FileStore } from "../../coordinator/store/file-store.ts";
import { gatedPool } from "../helpers/gated-pool.ts";
import { within } from "../helpers/wait.ts";

let dir: string;

beforeAll(async () => {
  await useBackend("wasm");
  dir = await mkdtemp(join(tmpdir(), "edgeprop-sse-"));
});

afterAll(async () => {
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

describe("the events stream", () => {
  it("leaves no heartbeat timer behind for the events that woke it", async () => {
    // The job's first step waits until the stream is open, so that every later event wakes a waiting stream.
    let open!: () => void;
    const opened = new Promise<void>((resolve) => (open = resolve));
    const pool = gatedPool(() => opened);
    const store = new FileStore(dir);
    const registry = new DatasetRegistry(store);
    const jobs = new JobManager({ store, registry, defaultWorkers: ["in-process"], createPool: async () => pool });
    const app = createCoordinatorApp({ jobs, datasets: registry });
    const spec = { dataset: { id: "builtin:moons" }, model: { input: [2], layers: [{ type: "dense", units: 2 }], output: "softmax" }, batchSize: 50, epochs: 3 };
    const { id } = (await (await app.request("/v1/jobs", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(spec) })).json()) as { id: string };

    const heartbeats = new Set<unknown>();
    const cleared = new Set<unknown>();
    const realSetTimeout = globalThis.setTimeout;
    const realClearTimeout = globalThis.clearTimeout;
    vi.spyOn(globalThis, "setTimeout").mockImplementation(((handler: () => void, ms?: number, ...rest: unknown[]) => {
      const handle = realSetTimeout(handler, ms, ...rest);
      if (ms === 15_000) heartbeats.add(handle);
      return handle;
    }) as typeof setTimeout);
    vi.spyOn(globalThis, "clearTimeout").mockImplementation(((handle?: Parameters<typeof clearTimeout>[0]) => {
      if (heartbeats.has(handle)) cleared.add(handle);
      return realClearTimeout(handle);
    }) as typeof clearTimeout);
    try {
      const response = await app.request(`/v1/jobs/${id}/events`);
      open();
      const text = await within(response.text(), "the stream to end with the job", 60_000);
      expect(text).toMatch(/event: done/);
      // moons: 600 training rows at batch 50 are 12 steps an epoch, 3 epochs: dozens of events.
      expect(heartbeats.size).toBeGreaterThan(10);
      expect(cleared.size).toBe(heartbeats.size);
    } finally {
      vi.restoreAllMocks();
      await jobs.shutdown();
    }
  });
});
