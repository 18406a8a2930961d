/**
 * Hyperparameter studies through the coordinator's HTTP API, in process (InProcessPool): the
 * response shape, bad input refused whole before any job exists, concurrency, cancelling, resuming
 * on a new process's managers, and continuing a job from its checkpoint (successive halving's
 * promotion) with the bits of a job trained that long from the start.
 */
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useBackend } from "../../core/tf.ts";
import { createCoordinatorApp } from "../../coordinator/app.ts";
import { DatasetRegistry } from "../../coordinator/datasets/registry.ts";
import { HttpError } from "../../core/http/http-error.ts";
import { JobManager } from "../../coordinator/jobs/job-manager.ts";
import { InProcessPool } from "../../coordinator/pool/in-process-pool.ts";
import { FileStore } from "../../coordinator/store/file-store.ts";
import { parseStudySpec, StudyManager, type StudyView } from "../../coordinator/studies/mod.ts";
import { repoRoot } from "../helpers/processes.ts";
import { waitFor } from "../helpers/wait.ts";

const TOKEN = "studies-token";

const base = {
  name: "moons",
  dataset: { id: "builtin:moons" },
  model: { input: [2], layers: [{ type: "dense", units: 8 }, { type: "relu" }, { type: "dropout", keepProb: 0.9 }, { type: "dense", units: 2 }], output: "softmax" },
  optimizer: { type: "adam", learningRate: 0.02 },
  batchSize: 100,
  chunkSize: 50,
  epochs: 2,
};
const lrSpace = { "optimizer.learningRate": { type: "logUniform", min: 1e-3, max: 1e-1 } };

interface Coordinator {
  store: FileStore;
  jobs: JobManager;
  studies: StudyManager;
  app: ReturnType<typeof createCoordinatorApp>;
}

let dir: string;
let main: Coordinator;
const scratch: string[] = [];

function coordinator(dataDir: string): Coordinator {
  const store = new FileStore(dataDir);
  const registry = new DatasetRegistry(store);
  const jobs = new JobManager({ store, registry, defaultWorkers: ["in-process"], createPool: async () => new InProcessPool({ workers: 2 }) });
  const studies = new StudyManager({ jobs, store, pollMs: 200 });
  return { store, jobs, studies, app: createCoordinatorApp({ jobs, datasets: registry, studies, apiToken: TOKEN }) };
}

async function call(c: Coordinator, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await c.app.request(path, { method: body === undefined ? "GET" : "POST", headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: response.status, body: await response.json() };
}

async function finished(c: Coordinator, id: string): Promise<StudyView> {
  await c.studies.settled(id);
  return (await call(c, `/v1/studies/${id}`)).body as StudyView;
}

beforeAll(async () => {
  await useBackend("wasm");
  dir = await mkdtemp(join(tmpdir(), "edgeprop-studies-"));
  main = coordinator(dir);
});

afterAll(async () => {
  await main.studies.shutdown();
  await main.jobs.shutdown();
  for (const d of [dir, ...scratch]) await rm(d, { recursive: true, force: true });
});

describe("bad input", () => {
  const study = (over: object = {}) => ({ name: "bad", base, space: lrSpace, strategy: { type: "random", trials: 2 }, ...over });
  const cases: [string, object, RegExp][] = [
    ["a path that is no field of the spec", { space: { "optimizer.learningRat": { type: "logUniform", min: 1e-3, max: 1 } } }, /'space\["optimizer\.learningRat"\]'.*'optimizer\.learningRat' is not a known field/],
    ["a path through nothing", { space: { "model.layerz[0].units": { type: "int", min: 1, max: 8 } } }, /'space\["model\.layerz\[0\]\.units"\]' is not a path of the base job spec: 'model\.layerz' does not exist/],
    ["an index past the layers", { space: { "model.layers[9].units": { type: "int", min: 1, max: 8 } } }, /'model\.layers\[9\]' does not exist/],
    ["an inverted range", { space: { "optimizer.learningRate": { type: "logUniform", min: 1, max: 1e-3 } } }, /'optimizer\.learningRate\.max' must be > 'optimizer\.learningRate\.min' \(1\), current value is 0\.001/],
    ["an empty range", { space: { "model.layers[2].keepProb": { type: "uniform", min: 0.5, max: 0.5 } } }, /'model\.layers\[2\]\.keepProb\.max' must be > .*current value is 0\.5/],
    ["a log range from 0", { space: { "regularization.l2": { type: "logUniform", min: 0, max: 1e-2 } } }, /'regularization\.l2\.min' must be > 0 for logUniform, current value is 0/],
    ["a log range of negatives", { space: { "optimizer.learningRate": { type: "logUniform", min: -1, max: 1 } } }, /must be > 0 for logUniform, current value is -1/],
    ["a range with values no job accepts", { space: { "model.layers[0].units": { type: "int", min: 0, max: 8 } } }, /'space\["model\.layers\[0\]\.units"\]' allows 0, which makes an invalid job spec: 'model\.layers\[0\]\.units' must be in \[1, 4096\], current value is 0/],
    ["a keep probability above 1", { space: { "model.layers[2].keepProb": { type: "uniform", min: 0.5, max: 1.5 } } }, /allows 1\.5/],
    ["a budget of 0 trials", { strategy: { type: "random", trials: 0 } }, /'strategy\.trials' must be in \[1, 1000\], current value is 0/],
    ["a grid of 1 point", { strategy: { type: "grid", points: 1 } }, /'strategy\.points' must be in \[2, 1000\], current value is 1/],
    ["0 rounds", { strategy: { type: "coarseToFine", rounds: 0, trialsPerRound: 4 } }, /'strategy\.rounds' must be in \[1, 1000\], current value is 0/],
    ["keep above the round", { strategy: { type: "coarseToFine", rounds: 2, trialsPerRound: 4, keep: 5 } }, /'strategy\.keep' must be in \[1, 4\], current value is 5/],
    ["a concurrency of 0", { strategy: { type: "random", trials: 2, concurrency: 0 } }, /'strategy\.concurrency' must be in \[1, 64\], current value is 0/],
    ["a missing budget", { strategy: { type: "successiveHalving" } }, /'strategy\.trials' is required for successiveHalving/],
    ["successive halving with no room to halve", { strategy: { type: "successiveHalving", trials: 4, minEpochs: 2 } }, /'strategy\.minEpochs' must be < 'base\.epochs' \(2, the finalists' budget\), current value is 2/],
    ["successive halving over epochs", { strategy: { type: "successiveHalving", trials: 4 }, space: { epochs: { type: "int", min: 1, max: 4 } } }, /must not contain "epochs" with successiveHalving/],
    ["successive halving of ensembles", { strategy: { type: "successiveHalving", trials: 2 }, base: { ...base, ensemble: { members: 2 } } }, /needs 'ensemble\.members' 1, current value is 2/],
    ["an unknown strategy", { strategy: { type: "bayesian", trials: 4 } }, /'strategy\.type' must be one of "grid", "random", "coarseToFine", "successiveHalving", current value is "bayesian"/],
    ["an unknown strategy field", { strategy: { type: "random", trials: 4, rounds: 2 } }, /'strategy\.rounds' is not a known field/],
    ["an unknown metric", { metric: "accuracy" }, /'metric' must be one of "devError", "devLoss", "trainError", "trainLoss", current value is "accuracy"/],
    ["an unknown top-level field", { budget: 3 }, /'study\.budget' is not a known field/],
    ["no space", { space: {} }, /'space' must have at least one dimension/],
    ["a base that is no job", { base: { ...base, epochs: 0 } }, /'base' is not a valid job spec: 'epochs' must be in \[1, 10000\], current value is 0/],
    ["a base on a dataset that does not exist", { base: { ...base, dataset: { id: "ds_nope" } } }, /'base': 'dataset\.id'.*ds_nope/],
    ["a grid too large", { strategy: { type: "grid", points: 40 }, space: { ...lrSpace, "regularization.l2": { type: "uniform", min: 0, max: 1 } } }, /1600 trials \(a grid of 40 × 40\), more than the limit of 1000/],
  ];
  for (const [what, over, message] of cases) {
    it(`refuses ${what} with a 400 naming the problem`, async () => {
      const { status, body } = await call(main, "/v1/studies", study(over));
      expect(status, JSON.stringify(body)).toBe(400);
      expect(body.error.message).toMatch(message);
    });
  }

  it("created nothing for any of them", async () => {
    expect((await call(main, "/v1/studies")).body).toEqual({ studies: [] });
    expect((await call(main, "/v1/jobs")).body).toEqual({ jobs: [] });
  });

  it("answers 404 for a study that does not exist, and requires the API token", async () => {
    expect((await call(main, "/v1/studies/study_nope")).status).toBe(404);
    expect((await main.app.request("/v1/studies")).status).toBe(401);
  });
});

describe("a grid study", () => {
  it("runs every point as a job, at most `concurrency` at once, and reports trials, best and plot data", async () => {
    const created = await call(main, "/v1/studies", {
      name: "grid",
      base,
      space: { "model.layers[0].units": { type: "int", min: 4, max: 16 }, "regularization.l2": { type: "choice", values: [0, 1e-3] } },
      strategy: { type: "grid", points: 2, concurrency: 2 },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ name: "grid", status: "running", metric: "devError", strategy: { type: "grid", points: 2, concurrency: 2 } });
    const view = await finished(main, created.body.id);
    expect(view.status).toBe("succeeded");
    expect(view.trials.map((t) => t.values)).toEqual([
      { "model.layers[0].units": 4, "regularization.l2": 0 },
      { "model.layers[0].units": 4, "regularization.l2": 1e-3 },
      { "model.layers[0].units": 16, "regularization.l2": 0 },
      { "model.layers[0].units": 16, "regularization.l2": 1e-3 },
    ]);
    for (const t of view.trials) {
      expect(t).toMatchObject({ id: `t${t.index}`, status: "succeeded", epochs: 2, budget: 2 });
      expect(t.jobId).toMatch(/^job_/);
      expect(typeof t.metric).toBe("number");
    }
    const best = view.trials.reduce((a, b) => (b.metric! < a.metric! ? b : a));
    expect(view.best).toMatchObject({ trialId: best.id, jobId: best.jobId, values: best.values, metric: best.metric });
    expect(view.best!.spec.name).toBe(`grid/${best.id}`);
    expect(view.best!.spec.model.layers[0]).toMatchObject({ type: "dense", units: best.values["model.layers[0].units"] });
    expect(view.best!.spec.regularization).toEqual({ l2: best.values["regularization.l2"] });
    expect(view.dimensions["model.layers[0].units"]).toMatchObject({ type: "int", scale: "linear", min: 4, max: 16 });
    expect(view.dimensions["regularization.l2"]).toMatchObject({ type: "choice", scale: "categorical", values: [0, 1e-3] });
    expect(view.dimensions["regularization.l2"].points.map((p) => p.trialId)).toEqual(["t0", "t1", "t2", "t3"]);
    expect(view.counts).toEqual({ total: 4, pending: 0, running: 0, succeeded: 4, stopped: 0, failed: 0, cancelled: 0 });

    // Trials are ordinary jobs, named after the study and trial, never more than 2 at once.
    const records = (await main.jobs.list()).filter((j) => j.studyId === view.id);
    expect(records.map((j) => j.name).sort()).toEqual(["grid/t0", "grid/t1", "grid/t2", "grid/t3"]);
    const spans = records.map((j) => [Date.parse(j.startedAt!), Date.parse(j.finishedAt!)]);
    for (const [start] of spans) expect(spans.filter(([a, b]) => a <= start && start < b).length).toBeLessThanOrEqual(2);

    const list = (await call(main, "/v1/studies")).body.studies;
    expect(list.find((s: any) => s.id === view.id)).toMatchObject({ name: "grid", status: "succeeded", strategy: "grid", counts: { total: 4, succeeded: 4 }, best: { trialId: best.id } });
  });

  it("sets a field the base leaves to its default, such as Adam's beta1 on the oneMinusLog scale", async () => {
    const created = await call(main, "/v1/studies", {
      base: { ...base, epochs: 1 },
      space: { "optimizer.beta1": { type: "oneMinusLog", min: 0.9, max: 0.999 } },
      strategy: { type: "random", trials: 2 },
      seed: 3,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const view = await finished(main, created.body.id);
    expect(view.name).toBe("moons");
    for (const t of view.trials) {
      const job = (await call(main, `/v1/jobs/${t.jobId}`)).body;
      expect(job.spec.optimizer.beta1).toBe(t.values["optimizer.beta1"]);
      expect(job.studyId).toBe(view.id);
    }
    expect(view.dimensions["optimizer.beta1"].scale).toBe("oneMinusLog");
  });
});

describe("cancelling", () => {
  it("cancels the running trial's job and never starts the pending ones", async () => {
    const created = await call(main, "/v1/studies", { name: "cancel", base: { ...base, epochs: 50 }, space: lrSpace, strategy: { type: "random", trials: 5, concurrency: 1 } });
    expect(created.status).toBe(201);
    const id = created.body.id;
    await waitFor(async () => ((await call(main, `/v1/studies/${id}`)).body as StudyView).trials[0].status, (s) => s === "running", "the first trial to run", { intervalMs: 10 });
    const cancelled = await call(main, `/v1/studies/${id}/cancel`, {});
    expect(cancelled.body).toEqual({ id, status: "cancelled" });
    const view = (await call(main, `/v1/studies/${id}`)).body as StudyView;
    expect(view.trials.map((t) => t.status)).toEqual(["cancelled", "cancelled", "cancelled", "cancelled", "cancelled"]);
    expect(view.trials.slice(1).every((t) => t.jobId === null)).toBe(true);
    expect((await main.jobs.get(view.trials[0].jobId!))!.status).toBe("cancelled");
    expect((await main.jobs.list()).filter((j) => j.studyId === id).length).toBe(1);
  });
});

describe("resuming", () => {
  it("goes on with a study on a new coordinator's managers over the same data directory, adopting a job it had not recorded", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "edgeprop-studies-resume-"));
    scratch.push(dataDir);
    const first = coordinator(dataDir);
    const created = await call(first, "/v1/studies", {
      name: "resume",
      base: { ...base, epochs: 8, batchSize: 20, chunkSize: 20 },
      space: lrSpace,
      strategy: { type: "successiveHalving", trials: 4, minEpochs: 2, eta: 2, concurrency: 2 },
      seed: 5,
    });
    expect(created.status).toBe(201);
    const id = created.body.id;
    // Stop the first "process" once a trial has finished and others are under way.
    await waitFor(async () => {
      const view = (await call(first, `/v1/studies/${id}`)).body as StudyView;
      expect(view.status).toBe("running");
      return view.trials.map((t) => t.status);
    }, (s) => s.includes("succeeded") && s.includes("running"), "a trial finished while another runs", { intervalMs: 5 });
    // The jobs first, as the entry files do on SIGTERM: running trials keep their checkpoints.
    await first.jobs.shutdown();
    await first.studies.shutdown();
    // Forget one running trial's job id, as if the coordinator died between submitting it and recording it.
    const stored = (await first.store.getStudy(id))!;
    const lost = stored.trials.find((t) => t.jobId !== null)!;
    await first.store.putStudy({ ...stored, trials: stored.trials.map((t) => (t.id === lost.id ? { ...t, jobId: null, status: "pending" as const } : t)) });

    const second = coordinator(dataDir);
    try {
      expect(await second.jobs.resumeAll()).toBeGreaterThan(0);
      expect(await second.studies.resumeAll()).toBe(1);
      const view = await finished(second, id);
      expect(view.status, view.error ?? "").toBe("succeeded");
      expect(view.trials.find((t) => t.id === lost.id)!.jobId).toBe(lost.jobId);
      const records = (await second.jobs.list()).filter((j) => j.studyId === id);
      expect(records.length).toBe(4); // no trial ran twice
      // Rungs of 2, 4 and 8 epochs with 4, 2 and 1 trials; each job's log holds each epoch once.
      expect(view.trials.map((t) => t.epochs).sort((a, b) => a - b)).toEqual([2, 2, 4, 8]);
      let logged = 0;
      for (const job of records) logged += (await second.jobs.metrics(job.id)).filter((e) => e.kind === "epoch").length;
      expect(logged).toBe(16);
      expect(view.best!.spec.epochs).toBe(8);
    } finally {
      await second.studies.shutdown();
      await second.jobs.shutdown();
    }
  });
});

describe("continuing a job from its checkpoint (successive halving's promotion)", () => {
  it("ends with the bits of a job trained that long from the start, and refuses what it cannot continue", async () => {
    const spec = { ...base, name: "extend", schedule: { type: "inverseTime", decayRate: 0.3 } };
    const short = await main.jobs.submit({ ...spec, epochs: 2 });
    await expect(main.jobs.extend(short.id, 4)).rejects.toThrow(/only a succeeded job can be extended/);
    await main.jobs.settled(short.id);
    await expect(main.jobs.extend(short.id, 2)).rejects.toThrow(/'epochs' must be an integer in \(2, 10000\]/);
    const extended = await main.jobs.extend(short.id, 5);
    expect(extended).toMatchObject({ id: short.id, status: "queued", spec: { epochs: 5 } });
    await main.jobs.settled(short.id);
    const full = await main.jobs.submit({ ...spec, epochs: 5 });
    await main.jobs.settled(full.id);
    const a = (await main.jobs.model(short.id))!.members[0].parameters;
    const b = (await main.jobs.model(full.id))!.members[0].parameters;
    expect(Object.keys(a).length).toBe(4);
    for (const name of Object.keys(b)) expect(Array.from(a[name]), name).toEqual(Array.from(b[name]));
    expect((await main.jobs.get(short.id))!.metrics).toEqual((await main.jobs.get(full.id))!.metrics);
    expect((await main.jobs.metrics(short.id)).filter((e) => e.kind === "epoch").map((e) => e.epoch)).toEqual([0, 1, 2, 3, 4]);

    const ensemble = await main.jobs.submit({ ...spec, epochs: 1, ensemble: { members: 2 } });
    await main.jobs.settled(ensemble.id);
    await expect(main.jobs.extend(ensemble.id, 2)).rejects.toThrow(HttpError);
    await expect(main.jobs.extend("job_nope", 2)).rejects.toThrow(/does not exist/);
  });
});

describe("the example studies in docs/examples", () => {
  it("are valid study specs", async () => {
    const dir = join(repoRoot, "docs", "examples");
    const files = (await readdir(dir)).filter((f) => f.startsWith("study-") && f.endsWith(".json"));
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const file of files) {
      const spec = parseStudySpec(JSON.parse(await readFile(join(dir, file), "utf8")));
      expect(spec.name, file).toBeTruthy();
    }
  });
});
