/**
 * Paged listings (`?limit=&cursor=`) over a store of 1,200 jobs written to it directly: pages are
 * newest first, together exactly the whole listing, and a page does not read every job (timed by
 * ratio to a full listing, not by wall clock).
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EdgepropClient } from "../../clients/sdk/mod.ts";
import { parseJobSpec } from "../../core/job/spec.ts";
import { createCoordinatorApp } from "../../coordinator/app.ts";
import { DatasetRegistry } from "../../coordinator/datasets/registry.ts";
import { newJobId } from "../../coordinator/jobs/job-id.ts";
import { JobManager } from "../../coordinator/jobs/job-manager.ts";
import { InProcessPool } from "../../coordinator/pool/in-process-pool.ts";
import { FileStore } from "../../coordinator/store/file-store.ts";
import type { JobRecord } from "../../coordinator/store/job-store.ts";

const TIMED = 1200;
const T0 = Date.UTC(2026, 0, 1);
let dir: string;
let jobs: JobManager;
let app: ReturnType<typeof createCoordinatorApp>;
/** Every id, newest first. */
let expected: string[];

// A record of a realistic size: a spec with a 64-entry manual schedule (about 3 KB of JSON).
const spec = parseJobSpec({
  dataset: { id: "builtin:moons" },
  model: { input: [2], layers: [{ type: "dense", units: 8 }, { type: "relu" }, { type: "dense", units: 2 }], output: "softmax" },
  optimizer: { type: "sgd", learningRate: 0.1 },
  schedule: { type: "manual", rates: Array.from({ length: 64 }, (_, i) => [i, 0.1 / (i + 1)]) },
});

function record(id: string, createdAt: number): JobRecord {
  const at = new Date(createdAt).toISOString();
  return {
    id, name: id, status: "succeeded", spec, createdAt: at, startedAt: at, finishedAt: at,
    progress: { epoch: 9, epochs: 10, step: 5, steps: 5, member: 0, members: 1 },
    metrics: { trainLoss: 0.1, trainError: 0.05, devLoss: 0.2, devError: 0.1, testLoss: null, testError: null },
    diagnosis: null, error: null, throughput: { examplesPerSecond: 1000 }, timing: { stepMs: 1, breakdown: null },
    workers: ["http://127.0.0.1:9"], studyId: null, bestDev: 0.1,
  };
}

async function get(path: string): Promise<{ jobs: { id: string }[]; nextCursor?: string | null }> {
  const response = await app.request(path);
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as { jobs: { id: string }[]; nextCursor?: string | null };
}

async function medianMs(fn: () => Promise<unknown>, runs = 5): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)];
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "edgeprop-paging-"));
  const store = new FileStore(dir);
  const timed = Array.from({ length: TIMED }, (_, i) => record(newJobId(T0 + i * 1000), T0 + i * 1000));
  // Jobs of an older version: random ids, created before every timed one.
  const untimed = Array.from({ length: 3 }, (_, i) => record(`job_${randomBytes(12).toString("hex")}`, T0 - (i + 1) * 60_000));
  const all = [...timed, ...untimed];
  for (let i = 0; i < all.length; i += 100) await Promise.all(all.slice(i, i + 100).map((j) => store.putJob(j)));
  expected = [...timed.reverse(), ...untimed].map((j) => j.id);
  const registry = new DatasetRegistry(store);
  jobs = new JobManager({ store, registry, defaultWorkers: ["in-process"], createPool: async () => new InProcessPool({ workers: 1 }) });
  app = createCoordinatorApp({ jobs, datasets: registry });
}, 120_000);

afterAll(async () => {
  await jobs.shutdown();
  await rm(dir, { recursive: true, force: true });
});

describe("GET /v1/jobs?limit=&cursor=", () => {
  it("walks every job once, newest first, ending with a null cursor", async () => {
    const seen: string[] = [];
    let cursor: string | null | undefined = null;
    let pages = 0;
    do {
      const page = await get(`/v1/jobs?limit=100${cursor ? `&cursor=${cursor}` : ""}`);
      expect(page.jobs.length).toBe(Math.min(100, expected.length - seen.length));
      seen.push(...page.jobs.map((j) => j.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    expect(cursor).toBeNull();
    expect(pages).toBe(Math.ceil(expected.length / 100));
    expect(seen).toEqual(expected);
  });

  it("without limit is today's listing: every job, oldest first, no cursor", async () => {
    const all = await get("/v1/jobs");
    expect(all.jobs.map((j) => j.id)).toEqual([...expected].reverse());
    expect(all.nextCursor).toBeUndefined();
  });

  it("reads only a page: a page of 20 takes less than a fifth of a full listing", async () => {
    const page = await get("/v1/jobs?limit=20");
    expect(page.jobs.map((j) => j.id)).toEqual(expected.slice(0, 20));
    expect(page.nextCursor).toBe(expected[19]);
    const full = await medianMs(() => get("/v1/jobs"));
    const paged = await medianMs(() => get(`/v1/jobs?limit=20&cursor=${expected[500]}`));
    expect(paged * 5, `page ${paged.toFixed(1)} ms, full listing ${full.toFixed(1)} ms`).toBeLessThan(full);
  }, 60_000);

  it("refuses a bad limit or an unknown cursor with a 400 naming the parameter", async () => {
    for (const [query, field] of [["limit=0", "limit"], ["limit=1001", "limit"], ["limit=ten", "limit"], ["limit=5&cursor=job_nope", "cursor"], ["cursor=x", "cursor"]]) {
      const response = await app.request(`/v1/jobs?${query}`);
      expect(response.status, query).toBe(400);
      expect(((await response.json()) as { error: { field: string } }).error.field).toBe(field);
    }
  });

  it("pages datasets too: uploads newest first, then the builtins", async () => {
    const response = await app.request("/v1/datasets?limit=2");
    const body = (await response.json()) as { datasets: { id: string; builtin: boolean }[]; nextCursor: string | null };
    expect(body.datasets.length).toBe(2);
    expect(body.nextCursor).toBe(body.datasets[1].id);
    const rest = (await (await app.request(`/v1/datasets?limit=1000&cursor=${encodeURIComponent(body.nextCursor!)}`)).json()) as { datasets: { id: string }[]; nextCursor: string | null };
    const all = (await (await app.request("/v1/datasets")).json()) as { datasets: { id: string }[] };
    expect([...body.datasets, ...rest.datasets].map((d) => d.id).sort()).toEqual(all.datasets.map((d) => d.id).sort());
    expect(rest.nextCursor).toBeNull();
  });
});

describe("the SDK's paging", () => {
  it("gives typed pages and iterates every job newest first", async () => {
    const client = new EdgepropClient({ baseUrl: "http://coordinator", fetch: async (input, init) => app.request(String(input), init) });
    const first = await client.listJobsPage({ limit: 20 });
    expect(first.items.map((j) => j.id)).toEqual(expected.slice(0, 20));
    const second = await client.listJobsPage({ limit: 20, cursor: first.nextCursor });
    expect(second.items.map((j) => j.id)).toEqual(expected.slice(20, 40));
    const all: string[] = [];
    for await (const job of client.jobs({ limit: 250 })) all.push(job.id);
    expect(all).toEqual(expected);
    expect((await client.listDatasetsPage({ limit: 1000 })).nextCursor).toBeNull();
  });
});
