/**
 * Round replies without the inner state the coordinator drops (DESIGN.md, "Local-step rounds"):
 * with `innerState: "reset"` the last request of every round says `returnInnerState: false`, so
 * its reply carries no optimizer moments. Over real HTTP to a worker app: the job keeps its bits,
 * the replies shrink by the moments, `keep` jobs and rounds cut into segments still get the state
 * they need, and a worker whose health does not advertise the field is never sent it.
 */
import { serve } from "@hono/node-server";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { syntheticDataset } from "../../core/data/mod.ts";
import { parseJobSpec } from "../../core/job/spec.ts";
import { planModel } from "../../core/model/spec.ts";
import { useBackend } from "../../core/tf.ts";
import { HttpPool } from "../../coordinator/pool/http-pool.ts";
import { InProcessPool } from "../../coordinator/pool/in-process-pool.ts";
import type { WorkerPool } from "../../coordinator/pool/worker-pool.ts";
import { prepareData } from "../../coordinator/training/prepared-data.ts";
import { train, type TrainEvent } from "../../coordinator/training/trainer.ts";
import { createApp } from "../../edge-functions/app.ts";

const SECRET = "round-replies-test-secret-0123456789";
const job = {
  dataset: { id: "builtin:moons" },
  model: {
    input: [2],
    layers: [{ type: "dense", units: 16 }, { type: "batchnorm" }, { type: "relu" }, { type: "dropout", keepProb: 0.8 }, { type: "dense", units: 2 }],
    output: "softmax",
  },
  optimizer: { type: "adam", learningRate: 0.01 },
  batchSize: 40,
  chunkSize: 10,
  epochs: 2,
  seed: 5,
  deterministic: true,
  distribution: { mode: "local", replicas: 4, innerSteps: 3, innerState: "reset" },
};
// 600 training examples: 15 steps of 40 per epoch, 5 rounds of 3.
const ROUNDS = 2 * 5;

const servers: ReturnType<typeof serve>[] = [];
/** A worker's URL: `older` strips `returnInnerState` from its health, as a worker from before it. */
async function worker(options: { older?: boolean; maxRoundExamples?: number } = {}): Promise<string> {
  const app = createApp({ runtime: "test", secret: SECRET, limits: options.maxRoundExamples ? { maxRoundExamples: options.maxRoundExamples } : {} });
  const server = serve({
    fetch: async (request: Request) => {
      const response = await app.fetch(request);
      if (!options.older || new URL(request.url).pathname !== "/v1/health") return response;
      const { returnInnerState: _, ...health } = await response.json();
      return Response.json(health, { status: response.status });
    },
    port: 0,
    hostname: "127.0.0.1",
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.once("listening", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  await useBackend("wasm");
});

afterAll(async () => {
  for (const s of servers) {
    (s as unknown as { closeAllConnections(): void }).closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

/** A pool that records each round request's returnInnerState (true where absent) before passing it on. */
function recording(pool: WorkerPool, asked: boolean[]): WorkerPool {
  return {
    capacity: () => pool.capacity(),
    status: () => pool.status(),
    forJob: (policy) => recording(pool.forJob(policy), asked),
    runStep: (task, options) => pool.runStep(task, options),
    runEvaluation: (task, options) => pool.runEvaluation(task, options),
    runRound: (task, options) => (asked.push(task.context.returnInnerState !== false), pool.runRound(task, options)),
  };
}

async function trainOn(pool: WorkerPool, over: object = {}) {
  const spec = parseJobSpec({ ...job, ...over });
  const plan = planModel(spec.model);
  const data = prepareData(syntheticDataset("moons", { seed: 1, examples: 1000 }), spec, plan);
  const asked: boolean[] = [];
  const events: TrainEvent[] = [];
  const result = await train({
    spec, plan, data, pool: recording(pool, asked), signal: new AbortController().signal, emit: (e) => events.push(e), checkpoint: async () => {},
  });
  const communication = events.flatMap((e) => (e.type === "communication" ? [e.communication] : [])).at(-1)!;
  return { member: result.members[0], asked, communication, plan };
}

async function pool(urls: string[]): Promise<HttpPool> {
  const p = new HttpPool(urls, { secret: SECRET });
  await p.start();
  return p;
}

describe("round replies", () => {
  it("leave out the inner state on a reset round's last request: the same bits, 2 Adam moments fewer bytes per replica and round", async () => {
    const current = await pool([await worker()]);
    const older = await pool([await worker({ older: true })]);
    try {
      expect(current.capacity().returnInnerState).toBe(true);
      expect(older.capacity().returnInnerState).toBe(false);
      const lean = await trainOn(current);
      const full = await trainOn(older);
      const inProcess = await trainOn(new InProcessPool());
      expect(lean.asked).toEqual(Array(ROUNDS).fill(false));
      expect(full.asked).toEqual(Array(ROUNDS).fill(true));
      expect(lean.member.params).toEqual(full.member.params);
      expect(lean.member.batchNorm).toEqual(full.member.batchNorm);
      expect(lean.member.params).toEqual(inProcess.member.params);
      expect(lean.communication.bytesSent).toBe(full.communication.bytesSent + ROUNDS * 4 * "returnInnerState".length + ROUNDS * 4 * 2);
      const moments = 2 * 4 * lean.plan.parameterCount;
      expect(full.communication.bytesReceived - lean.communication.bytesReceived).toBeGreaterThanOrEqual(ROUNDS * 4 * moments);
    } finally {
      current.close();
      older.close();
    }
  }, 120_000);

  it("still carry it where the coordinator needs it: every request of a keep job, and a reset round's earlier segments", async () => {
    const current = await pool([await worker()]);
    // 10 rows per replica step, 20 per request: each round of 3 goes out as 2 + 1 steps.
    const cut = await pool([await worker({ maxRoundExamples: 20 })]);
    try {
      const keep = await trainOn(current, { distribution: { ...job.distribution, innerState: "keep" } });
      expect(keep.asked).toEqual(Array(ROUNDS).fill(true));
      expect(keep.member.params).toEqual((await trainOn(new InProcessPool(), { distribution: { ...job.distribution, innerState: "keep" } })).member.params);
      const segments = await trainOn(cut);
      expect(segments.asked).toEqual(Array.from({ length: 2 * ROUNDS }, (_, i) => i % 2 === 0));
      expect(segments.member.params).toEqual((await trainOn(new InProcessPool())).member.params);
    } finally {
      current.close();
      cut.close();
    }
  }, 120_000);
});
