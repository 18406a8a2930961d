/** The SDK against a real coordinator, from Node (here) and from Deno (spawned). */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EdgepropClient, EdgepropError, type JobEvent } from "../../clients/sdk/mod.ts";
import { startCoordinator } from "../helpers/coordinator-process.ts";
import { denoBin, runCommand } from "../helpers/processes.ts";
import type { ServerProcess } from "../helpers/server-process.ts";
import { startWorker, type WorkerProcess } from "../helpers/worker-process.ts";

const SECRET = "sdk-test-secret-0123456789";
const TOKEN = "sdk-token";
let worker: WorkerProcess;
let coordinator: ServerProcess;
let dir: string;

beforeAll(async () => {
  worker = await startWorker("deno", { secret: SECRET });
  dir = await mkdtemp(join(tmpdir(), "edgeprop-sdk-"));
  coordinator = await startCoordinator({ dataDir: dir, workers: [worker.url], secret: SECRET, apiToken: TOKEN });
}, 60_000);

afterAll(async () => {
  await coordinator?.stop();
  await worker?.stop();
  await rm(dir, { recursive: true, force: true });
});

const job = (epochs: number) => ({
  name: "sdk",
  dataset: { id: "builtin:moons" },
  model: { input: [2], layers: [{ type: "dense", units: 8 }, { type: "relu" }, { type: "dense", units: 2 }], output: "softmax" },
  epochs,
  batchSize: 50,
});

describe("the SDK from Node", () => {
  it("submits, watches typed events, fetches metrics and the model, predicts", async () => {
    const client = new EdgepropClient({ baseUrl: coordinator.url, token: TOKEN });
    const { id } = await client.submitJob(job(2));
    const events: JobEvent[] = [];
    for await (const event of client.watch(id)) events.push(event);
    expect(events.at(-1)!.type).toBe("done");
    const epochs = events.filter((e) => e.type === "epoch");
    expect(epochs.length).toBe(2);
    if (epochs[0].type === "epoch") expect(typeof epochs[0].data.devError).toBe("number");
    const record = await client.getJob(id);
    expect(record.status).toBe("succeeded");
    expect((await client.getMetrics(id)).steps.length).toBe(2 * 12);
    expect(Object.keys((await client.getModel(id)).parameters)).toEqual(["dense0.W", "dense0.b", "dense2.W", "dense2.b"]);
    expect((await client.downloadModel(id)).length).toBeGreaterThan(100);
    const prediction = await client.predict(id, [[0, 0], [1, 1]]);
    expect(prediction.outputs.length).toBe(2);
    expect((await client.workers())[0]).toMatchObject({ url: worker.url, healthy: true, runtime: "deno" });
    expect((await client.listJobs()).some((j) => j.id === id)).toBe(true);
    expect((await client.listDatasets()).some((d) => d.id === "builtin:moons")).toBe(true);
  });

  it("raises one error type carrying the status and the server's message", async () => {
    const noToken = new EdgepropClient({ baseUrl: coordinator.url });
    await expect(noToken.listJobs()).rejects.toMatchObject({ name: "EdgepropError", status: 401 });
    const client = new EdgepropClient({ baseUrl: coordinator.url, token: TOKEN });
    const error = await client.submitJob({ ...job(1), epochs: 0 }).catch((e) => e);
    expect(error).toBeInstanceOf(EdgepropError);
    expect(error.status).toBe(400);
    expect(error.message).toMatch(/'epochs' must be in \[1, 10000\], current value is 0/);
    await expect(client.getJob("job_nothing")).rejects.toMatchObject({ status: 404 });
  });

  it("reconnects a dropped event stream and resumes where it left off", async () => {
    // A proxy that cuts the first event stream after a few chunks; later connections pass through.
    let streams = 0;
    const proxy = createServer(async (req, res) => {
      const body: Buffer[] = [];
      for await (const chunk of req) body.push(chunk as Buffer);
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k !== "host" && k !== "connection")) as Record<string, string>;
      const upstream = await fetch(coordinator.url + req.url, { method: req.method, headers, body: req.method === "POST" ? Buffer.concat(body) : undefined });
      res.writeHead(upstream.status, Object.fromEntries(upstream.headers));
      const cut = req.url!.endsWith("/events") && streams++ === 0;
      let chunks = 0;
      for await (const chunk of upstream.body as unknown as AsyncIterable<Uint8Array>) {
        res.write(chunk);
        if (cut && ++chunks === 3) {
          res.destroy();
          return;
        }
      }
      res.end();
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
    try {
      const client = new EdgepropClient({ baseUrl: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, token: TOKEN });
      const { id } = await client.submitJob(job(3));
      const ids: number[] = [];
      let last = "";
      for await (const event of client.watch(id)) {
        if (event.id !== null) ids.push(event.id);
        last = event.type;
      }
      expect(streams).toBeGreaterThanOrEqual(2);
      expect(last).toBe("done");
      // Every buffered event exactly once, in order, across the reconnection.
      expect(ids).toEqual(Array.from({ length: ids.length }, (_, i) => ids[0] + i));
      expect(ids[0]).toBe(1);
    } finally {
      proxy.closeAllConnections();
      await new Promise((r) => proxy.close(r));
    }
  });
});

describe("the SDK from Deno", () => {
  it("works unchanged", async () => {
    const out = await runCommand(denoBin, ["run", "--allow-net=127.0.0.1", "tests/runtimes/deno/sdk_client.ts", coordinator.url, TOKEN]);
    expect(out.code, out.stderr).toBe(0);
    const result = JSON.parse(out.stdout);
    expect(result.status).toBe("succeeded");
    expect(result.types).toEqual(expect.arrayContaining(["progress", "metrics", "epoch", "checkpoint", "done"]));
    expect(result.outputs[0].length).toBe(2);
    expect(result.badStatus).toBe(400);
  });
});
