/**
 * The coordinator API against hostile or broken input (Hono app.request, in-process pool): which
 * errors are the client's (400 naming the field, 415) and which are the server's (500, logged).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createCoordinatorApp } from "../../coordinator/app.ts";
import { DatasetRegistry } from "../../coordinator/datasets/registry.ts";
import { JobManager } from "../../coordinator/jobs/job-manager.ts";
import { InProcessPool } from "../../coordinator/pool/in-process-pool.ts";
import { FileStore } from "../../coordinator/store/file-store.ts";
import { StudyManager } from "../../coordinator/studies/mod.ts";

let dir: string;
let store: FileStore;
let registry: DatasetRegistry;
let jobs: JobManager;
let app: ReturnType<typeof createCoordinatorApp>;

const spec = (over: object = {}) => ({
  dataset: { id: "builtin:moons" },
  model: { input: [2], layers: [{ type: "dense", units: 2 }], output: "softmax" },
  epochs: 1,
  ...over,
});

async function post(path: string, body: BodyInit, type: string | null = "application/json"): Promise<Response> {
  return await app.request(path, { method: "POST", body, headers: type === null ? {} : { "content-type": type } });
}

async function errorOf(response: Response): Promise<{ code: string; message: string; field?: string }> {
  return ((await response.json()) as { error: { code: string; message: string; field?: string } }).error;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "edgeprop-hostile-"));
  store = new FileStore(dir);
  registry = new DatasetRegistry(store);
  jobs = new JobManager({ store, registry, defaultWorkers: ["in-process"], createPool: async () => new InProcessPool({ workers: 1 }) });
  app = createCoordinatorApp({
    jobs,
    datasets: registry,
    // A defective dependency: a programming error, not anything the client sent.
    dashboardAsset: async () => (null as unknown as { file: () => Response }).file(),
  });
});

afterAll(async () => {
  await jobs.shutdown();
  await rm(dir, { recursive: true, force: true });
});

describe("errors: the client's or the server's", () => {
  it("answers a TypeError of the server with a logged 500 'internal error', not a 400", async () => {
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const response = await app.request("/dashboard/app.js");
      expect(response.status).toBe(500);
      const error = await errorOf(response);
      expect(error.code).toBe("internal");
      expect(error.message).toMatch(/^internal error/);
      expect(error.message).not.toMatch(/null/);
      const logged = log.mock.calls.flat().find((x): x is TypeError => x instanceof TypeError);
      expect(logged?.stack, "the TypeError is logged with its stack").toMatch(/TypeError.*null/);
    } finally {
      log.mockRestore();
    }
  });

  it("answers a bad field with a 400 whose body names it", async () => {
    const response = await post("/v1/jobs", JSON.stringify(spec({ model: { input: [2], layers: [{ type: "dense", units: 0 }], output: "softmax" } })));
    expect(response.status).toBe(400);
    const error = await errorOf(response);
    expect(error).toMatchObject({ code: "invalid_field", field: "model.layers[0].units" });
    expect(error.message).toMatch(/'model.layers\[0\].units' must be in \[1, 4096\], current value is 0/);
  });

  it("names the field of an optimizer's own check under 'optimizer'", async () => {
    const response = await post("/v1/jobs", JSON.stringify(spec({ optimizer: { type: "adam", learningRate: 0.1, beta1: 1.5 } })));
    expect(response.status).toBe(400);
    expect((await errorOf(response)).field).toBe("optimizer.beta1");
  });
});

describe("a MessagePack dataset upload that does not decode", () => {
  for (const [what, body] of [["empty", new Uint8Array(0)], ["garbage", Uint8Array.from([0x92, 0x01])], ["trailing bytes", Uint8Array.from([0x01, 0x02])]] as const) {
    it(`is a 400 naming the problem (${what})`, async () => {
      const response = await post("/v1/datasets", body.slice(), "application/x-msgpack");
      expect(response.status).toBe(400);
      const error = await errorOf(response);
      expect(error.code).toBe("invalid_body");
      expect(error.message).toMatch(/^Cannot read dataset upload: the body (is empty|is not valid MessagePack)/);
    });
  }
});

describe("JSON endpoints", () => {
  // What a cross-site page can send without a CORS preflight, and a client that sends nothing.
  const types = [null, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonx"];
  const study = { base: spec(), space: { "optimizer.learningRate": { type: "logUniform", min: 1e-3, max: 1e-1 } }, strategy: { type: "random", trials: 1 } };

  it("refuse any Content-Type but application/json with a 415 that says so, and create nothing", async () => {
    const studies = new StudyManager({ jobs, store, pollMs: 10 });
    const withStudies = createCoordinatorApp({ jobs, datasets: registry, studies });
    const id = (await (await post("/v1/jobs", JSON.stringify(spec()))).json() as { id: string }).id;
    await jobs.settled(id);
    const before = (await jobs.list()).length;
    for (const type of types) {
      for (const [path, body] of [["/v1/jobs", spec()], [`/v1/jobs/${id}/predict`, { inputs: [[0, 0]] }], ["/v1/studies", study]] as const) {
        const response = await withStudies.request(path, { method: "POST", body: JSON.stringify(body), headers: type === null ? {} : { "content-type": type } });
        expect(response.status, `${path} with ${type}`).toBe(415);
        const error = await errorOf(response);
        expect(error.code).toBe("unsupported_media_type");
        expect(error.message).toMatch(/^Content-Type must be application\/json, current value is /);
      }
    }
    expect((await jobs.list()).length).toBe(before);
    expect(await studies.list()).toEqual([]);
    await studies.shutdown();
  });

  it("accept application/json with parameters, in any case", async () => {
    expect((await post("/v1/jobs", JSON.stringify(spec()), "Application/JSON; charset=utf-8")).status).toBe(201);
  });
});

describe("a POST from another origin (a page a user visits)", () => {
  it("is refused with a 403 before it does anything; the coordinator's own page and clients without an Origin are served", async () => {
    const id = (await (await post("/v1/jobs", JSON.stringify(spec()))).json() as { id: string }).id;
    await jobs.settled(id);
    const before = (await jobs.list()).length;
    const from = (origin: string | null, path: string, init: RequestInit = {}) =>
      app.request(`http://127.0.0.1:8080${path}`, { method: "POST", ...init, headers: { ...(origin === null ? {} : { origin }), ...init.headers } });
    for (const origin of ["https://evil.example", "http://127.0.0.1:9999", "null"]) {
      const cancel = await from(origin, `/v1/jobs/${id}/cancel`);
      expect(cancel.status, origin).toBe(403);
      expect((await errorOf(cancel)).code).toBe("cross_origin");
      expect((await from(origin, "/v1/jobs", { body: JSON.stringify(spec()), headers: { "content-type": "application/json" } })).status, origin).toBe(403);
    }
    expect((await jobs.list()).length).toBe(before);
    expect((await from("http://127.0.0.1:8080", `/v1/jobs/${id}/cancel`)).status).toBe(200);
    expect((await from(null, `/v1/jobs/${id}/cancel`)).status).toBe(200);
    // Reading stays open to any origin (the API token guards it when one is set).
    expect((await app.request(`http://127.0.0.1:8080/v1/jobs/${id}`, { headers: { origin: "https://evil.example" } })).status).toBe(200);
  });
});

describe("every list of a spec is bounded (a 400 naming the limit)", () => {
  const cases: Array<[string, string, object, string, RegExp]> = [
    ["a manual schedule longer than the epoch limit", "/v1/jobs", spec({ schedule: { type: "manual", rates: Array.from({ length: 20_000 }, (_, i) => [i, 0.01]) } }), "schedule.rates", /has 20000 entries, more than the limit of 10000/],
    ["too many worker URLs", "/v1/jobs", spec({ workers: { urls: Array.from({ length: 257 }, (_, i) => `http://10.0.0.${i % 250}:8787`) } }), "workers.urls", /has 257 entries, more than the limit of 256/],
    ["too many layers", "/v1/jobs", spec({ model: { input: [2], layers: [...Array.from({ length: 64 }, () => ({ type: "relu" })), { type: "dense", units: 2 }], output: "softmax" } }), "model.layers", /more than the limit of 64/],
    ["too many study dimensions", "/v1/studies", { base: spec(), space: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`name${i}`, { type: "choice", values: ["a"] }])), strategy: { type: "random", trials: 1 } }, "space", /has 33 dimensions, more than the limit of 32/],
    ["too many choice values", "/v1/studies", { base: spec(), space: { seed: { type: "choice", values: Array.from({ length: 257 }, (_, i) => i) } }, strategy: { type: "random", trials: 1 } }, "space.seed.values", /has 257 values, more than the limit of 256/],
  ];
  for (const [what, path, body, field, message] of cases) {
    it(what, async () => {
      const studies = new StudyManager({ jobs, store, pollMs: 10 });
      const withStudies = createCoordinatorApp({ jobs, datasets: registry, studies });
      const response = await withStudies.request(path, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } });
      expect(response.status).toBe(400);
      const error = await errorOf(response);
      expect(error.field).toBe(field);
      expect(error.code).toMatch(/^(limit_exceeded|invalid_field)$/);
      expect(error.message).toMatch(message);
      await studies.shutdown();
    });
  }
});
