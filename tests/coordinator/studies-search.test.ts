/**
 * The search strategies on the two-spirals set, in process (InProcessPool) through the HTTP API:
 * a learning-rate sweep establishes the good decade, then random search, coarse to fine and
 * successive halving are held to it. Everything is seeded and deterministic, so each claim holds
 * bit for bit on every run.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useBackend } from "../../core/tf.ts";
import { createCoordinatorApp } from "../../coordinator/app.ts";
import { DatasetRegistry } from "../../coordinator/datasets/registry.ts";
import { JobManager } from "../../coordinator/jobs/job-manager.ts";
import { InProcessPool } from "../../coordinator/pool/in-process-pool.ts";
import { FileStore } from "../../coordinator/store/file-store.ts";
import { StudyManager, type StudyView } from "../../coordinator/studies/mod.ts";

const LR = "optimizer.learningRate";
const EPOCHS = 20;
const TRIALS = 16;

/** An MLP that can fit the spirals in 20 epochs with a good learning rate, and cannot with a bad one. */
const base = {
  name: "spirals",
  dataset: { id: "builtin:spirals" },
  model: {
    input: [2],
    layers: [{ type: "dense", units: 32 }, { type: "tanh" }, { type: "dense", units: 32 }, { type: "tanh" }, { type: "dense", units: 2 }],
    output: "softmax",
  },
  optimizer: { type: "adam", learningRate: 1e-3 },
  batchSize: 50,
  chunkSize: 50,
  epochs: EPOCHS,
  seed: 3,
};
const space = { [LR]: { type: "logUniform", min: 1e-5, max: 10 } };

let dir: string;
let jobs: JobManager;
let studies: StudyManager;
let app: ReturnType<typeof createCoordinatorApp>;

beforeAll(async () => {
  await useBackend("wasm");
  dir = await mkdtemp(join(tmpdir(), "edgeprop-studies-search-"));
  const store = new FileStore(dir);
  const registry = new DatasetRegistry(store);
  jobs = new JobManager({ store, registry, defaultWorkers: ["in-process"], createPool: async () => new InProcessPool({ workers: 2 }) });
  studies = new StudyManager({ jobs, store });
  app = createCoordinatorApp({ jobs, datasets: registry, studies });
});

afterAll(async () => {
  await studies.shutdown();
  await jobs.shutdown();
  await rm(dir, { recursive: true, force: true });
});

async function runStudy(body: object): Promise<StudyView> {
  const response = await app.request("/v1/studies", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const created = (await response.json()) as StudyView;
  expect(response.status, JSON.stringify(created)).toBe(201);
  await studies.settled(created.id);
  const view = (await (await app.request(`/v1/studies/${created.id}`)).json()) as StudyView;
  expect(view.status, view.error ?? "").toBe("succeeded");
  return view;
}

/** Epochs each job of a study trained, from the job records' metrics logs. */
async function epochsByJob(studyId: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const job of await jobs.list()) {
    if (job.studyId !== studyId) continue;
    out.set(job.id, (await jobs.metrics(job.id)).filter((e) => e.kind === "epoch").length);
  }
  return out;
}

const sum = (xs: Iterable<number>) => [...xs].reduce((a, b) => a + b, 0);

describe("hyperparameter search on the two spirals, learning rate in [1e-5, 10] on a log scale", () => {
  let decade: [number, number];
  let random: StudyView;

  it("a seeded random study of 16 trials finds a learning rate in the decade a sweep establishes as good", async () => {
    // The sweep: one plain job per decade of [1e-5, 10], at the decade's midpoint on a log scale.
    const midpoints = [-4.5, -3.5, -2.5, -1.5, -0.5, 0.5];
    const sweep: { exponent: number; devError: number }[] = [];
    for (const exponent of midpoints) {
      const job = await jobs.submit({ ...base, name: `sweep 1e${exponent}`, optimizer: { type: "adam", learningRate: 10 ** exponent } });
      await jobs.settled(job.id);
      const record = (await jobs.get(job.id))!;
      sweep.push({ exponent, devError: record.status === "succeeded" ? record.metrics.devError! : 1 });
    }
    const good = sweep.reduce((a, b) => (b.devError < a.devError ? b : a));
    decade = [10 ** (good.exponent - 0.5), 10 ** (good.exponent + 0.5)];
    // The sweep does separate the decades: the best is far better than the worst.
    expect(good.devError).toBeLessThan(0.1);
    expect(Math.max(...sweep.map((s) => s.devError))).toBeGreaterThan(0.3);

    random = await runStudy({ name: "random", base, space, strategy: { type: "random", trials: TRIALS, concurrency: 4 }, seed: 7 });
    expect(random.trials.length).toBe(TRIALS);
    expect(random.trials.every((t) => t.status === "succeeded" || t.status === "failed")).toBe(true);
    const best = random.best!;
    const lr = best.values[LR] as number;
    expect(lr).toBeGreaterThanOrEqual(decade[0]);
    expect(lr).toBeLessThanOrEqual(decade[1]);
    expect(best.metric).toBe(Math.min(...random.trials.filter((t) => t.metric !== null).map((t) => t.metric!)));
    expect(best.spec.optimizer.learningRate).toBe(lr);
    // Trials are ordinary jobs with the study's id, one each.
    const listed = ((await (await app.request("/v1/jobs")).json()) as { jobs: { id: string; studyId: string | null }[] }).jobs;
    expect(listed.filter((j) => j.studyId === random.id).map((j) => j.id).sort()).toEqual(random.trials.map((t) => t.jobId).sort());
    // The plot data: every trial with a metric, on the dimension's log scale.
    const dim = random.dimensions[LR];
    expect(dim).toMatchObject({ type: "logUniform", scale: "log", min: 1e-5, max: 10 });
    expect(dim.points.length).toBe(random.trials.filter((t) => t.metric !== null).length);
  });

  it("coarseToFine with the same total budget ends with a dev error no worse than random", async () => {
    const c2f = await runStudy({ name: "c2f", base, space, strategy: { type: "coarseToFine", rounds: 2, trialsPerRound: TRIALS / 2, keep: 2, concurrency: 4 }, seed: 7 });
    expect(c2f.trials.length).toBe(TRIALS);
    expect(c2f.spaces.length).toBe(2);
    const [wide, narrow] = c2f.spaces.map((s) => s[LR] as { min: number; max: number });
    expect(Math.log10(narrow.max / narrow.min)).toBeLessThan(Math.log10(wide.max / wide.min));
    // Round 1 sampled only inside the zoomed range.
    for (const t of c2f.trials.filter((t) => t.round === 1)) {
      expect(t.values[LR]).toBeGreaterThanOrEqual(narrow.min);
      expect(t.values[LR]).toBeLessThanOrEqual(narrow.max);
    }
    expect(c2f.best!.metric).toBeLessThanOrEqual(random.best!.metric);
  });

  it("successiveHalving spends fewer epochs than running every trial to the end, and keeps the full run's best among its finalists", async () => {
    const sh = await runStudy({ name: "halving", base, space, strategy: { type: "successiveHalving", trials: TRIALS, minEpochs: 5, eta: 2, concurrency: 4 }, seed: 7 });
    // Same seed, space and trial count as the random study: the same values, so that study is the full run.
    expect(sh.trials.map((t) => t.values)).toEqual(random.trials.map((t) => t.values));
    // Rungs of 5, 10 and 20 epochs with 16, 8 and 4 trials.
    const finalists = sh.trials.filter((t) => t.round === 2);
    expect(finalists.length).toBe(4);
    expect(sh.trials.filter((t) => t.round === 1).length).toBe(4);
    expect(sh.trials.filter((t) => t.status === "stopped").length).toBe(12);

    const spent = await epochsByJob(sh.id);
    const full = await epochsByJob(random.id);
    expect(spent.size).toBe(TRIALS); // one job per trial: promotions continue the same job
    expect(sum(full.values())).toBe(TRIALS * EPOCHS - sum(random.trials.filter((t) => t.status === "failed").map((t) => EPOCHS - t.epochs)));
    expect(sum(spent.values())).toBe(16 * 5 + 8 * 5 + 4 * 10);
    expect(sum(spent.values())).toBeLessThan(sum(full.values()));
    expect(sh.epochs).toBe(sum(spent.values()));

    const fullBest = random.best!;
    expect(finalists.map((t) => t.values)).toContainEqual(fullBest.values);
    // A finalist continued from its checkpoints ends with the bits of a job run to the end at once.
    for (const f of finalists) {
      const same = random.trials.find((t) => t.values[LR] === f.values[LR])!;
      expect(f.metric).toBe(same.metric);
    }
    expect(sh.best!.values).toEqual(fullBest.values);
    expect(sh.best!.spec.epochs).toBe(EPOCHS);
  });
});
