/**
 * The dashboard's data functions in Node (no browser): the loss series and its smoothing against
 * hand-computed values, epochs and the early-stopping epoch, merging replayed events, study plots
 * and their axis scales, table order, trials folded under their study, the compare page's
 * overlay; and coordinator/dashboard.ts serving files safely.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { EpochMetrics, JobSummary, StepMetrics } from "../../clients/sdk/mod.ts";
import { compareHash, overlaySeries, plottedPoints } from "../../clients/dashboard/src/compare-model.ts";
import { bestDevText, foldTrials } from "../../clients/dashboard/src/job-list-model.ts";
import { communicationText, distributionText, epochSeries, JobHistory, lossSeries } from "../../clients/dashboard/src/job-model.ts";
import { sortTrials, type Study, studyDimensions, studyMetric } from "../../clients/dashboard/src/study-model.ts";
import { createDashboard } from "../../coordinator/dashboard.ts";

const timing = { plan: 0, encode: 0, transfer: 0, compute: 0, decode: 0, reduce: 0, optimizer: 0 };
const step = (member: number, s: number, loss: number): StepMetrics =>
  ({ kind: "step", member, epoch: 0, step: s, loss, smoothedLoss: 0, learningRate: 0.1 / s, skipped: false, timing });
const epoch = (member: number, e: number, trainError: number | null, devError: number | null, devLoss = 1): EpochMetrics =>
  ({ kind: "epoch", member, epoch: e, step: 0, trainLoss: 2, trainError, devLoss, devError, learningRate: 0.1, examplesPerSecond: 1, stepMs: 1, breakdown: timing });

describe("lossSeries", () => {
  // The course's example: β = 0.9, θ = 40, 49, 45.
  // v1 = 0.1·40 = 4; v2 = 0.9·4 + 0.1·49 = 8.5; v3 = 0.9·8.5 + 0.1·45 = 12.15.
  // Corrected: 4/0.1 = 40; 8.5/0.19 = 44.7368…; 12.15/0.271 = 44.8339….
  const steps = [step(0, 1, 40), step(0, 2, 49), step(0, 3, 45)];

  it("smooths with v_t = βv_{t−1} + (1−β)θ_t, and v_t/(1−βᵗ) with bias correction", () => {
    const plain = lossSeries(steps, { beta: 0.9, biasCorrection: false });
    expect(plain.x).toEqual([1, 2, 3]);
    expect(plain.raw).toEqual([40, 49, 45]);
    plain.smoothed.forEach((v, i) => expect(v).toBeCloseTo([4, 8.5, 12.15][i], 12));
    const corrected = lossSeries(steps, { beta: 0.9, biasCorrection: true });
    corrected.smoothed.forEach((v, i) => expect(v).toBeCloseTo([40, 8.5 / 0.19, 12.15 / 0.271][i], 12));
    expect(lossSeries(steps, { beta: 0, biasCorrection: false }).smoothed).toEqual([40, 49, 45]);
  });

  it("skips non-finite losses, restarts the average per ensemble member and places members after one another", () => {
    const series = lossSeries([step(0, 1, 40), { ...step(0, 2, 0), loss: null as unknown as number }, step(1, 1, 10), step(1, 2, 20)], { beta: 0.5, biasCorrection: false });
    expect(series.x).toEqual([1, 2, 3, 4]);
    expect(series.raw).toEqual([40, null, 10, 20]);
    expect(series.smoothed).toEqual([20, 20, 5, 12.5]);
  });
});

describe("epochSeries", () => {
  it("plots train and dev error per epoch from 1 and finds the lowest dev error", () => {
    const s = epochSeries([epoch(0, 0, 0.3, 0.35), epoch(0, 1, 0.2, 0.25), epoch(0, 2, 0.1, 0.28)]);
    expect(s).toEqual({ x: [1, 2, 3], train: [0.3, 0.2, 0.1], dev: [0.35, 0.25, 0.28], kind: "error", best: 1 });
  });

  it("uses the losses of a regression job and the dev loss when early stopping watches it", () => {
    const s = epochSeries([epoch(0, 0, null, null, 3), epoch(0, 1, null, null, 1), epoch(0, 2, null, null, 2)]);
    expect(s.kind).toBe("loss");
    expect(s.train).toEqual([2, 2, 2]);
    expect(s.best).toBe(1);
    expect(epochSeries([epoch(0, 0, 0.2, 0.2, 3), epoch(0, 1, 0.2, 0.3, 1)], "devLoss").best).toBe(1);
  });
});

describe("JobHistory", () => {
  it("counts an entry replayed by the event stream once and notices gaps", () => {
    const history = new JobHistory();
    history.addStep(step(0, 1, 1));
    history.addStep(step(0, 2, 1));
    history.addStep(step(0, 2, 1));
    history.addEpoch(epoch(0, 0, 0.1, 0.1));
    history.addEpoch(epoch(0, 0, 0.1, 0.1));
    expect(history.steps().map((s) => s.step)).toEqual([1, 2]);
    expect(history.epochs()).toHaveLength(1);
    expect(history.hasGap()).toBe(false);
    history.addStep(step(0, 5, 1));
    expect(history.hasGap()).toBe(true);
  });
});

describe("studyDimensions", () => {
  const study: Study = {
    id: "study_1",
    status: "succeeded",
    spec: {
      metric: "devError",
      space: {
        "optimizer.learningRate": { type: "logUniform", min: 1e-4, max: 1 },
        "optimizer.beta1": { type: "oneMinusLog", min: 0.9, max: 0.999 },
        "model.layers[0].units": { type: "int", min: 4, max: 64 },
        "regularization.l2": { type: "choice", values: [0, 0.001] },
      },
    },
    trials: [
      { id: "t0", jobId: "j0", status: "succeeded", epochs: 2, metric: 0.2, values: { "optimizer.learningRate": 0.1, "optimizer.beta1": 0.99, "model.layers[0].units": 8, "regularization.l2": 0.001 } },
      { id: "t1", jobId: "j1", status: "succeeded", epochs: 2, metric: 0.1, values: { "optimizer.learningRate": 0.001, "optimizer.beta1": 0.9, "model.layers[0].units": 32, "regularization.l2": 0 } },
      { id: "t2", jobId: null, status: "running", epochs: 0, metric: null, values: { "optimizer.learningRate": 0.01, "optimizer.beta1": 0.95, "model.layers[0].units": 16, "regularization.l2": 0 } },
    ],
    best: { trialId: "t1", values: {}, metric: 0.1 },
  };

  it("takes each axis scale from the space, sorts points by x and marks the best trial", () => {
    const dims = studyDimensions(study);
    expect(dims.map((d) => [d.path, d.scale])).toEqual([
      ["optimizer.learningRate", "log"],
      ["optimizer.beta1", "oneMinusLog"],
      ["model.layers[0].units", "linear"],
      ["regularization.l2", "category"],
    ]);
    expect(dims[0].points).toEqual([{ trialId: "t1", x: 0.001, metric: 0.1, best: true }, { trialId: "t0", x: 0.1, metric: 0.2, best: false }]);
    // oneMinusLog: t = −log10(1 − x), so 0.9 → 1 and 0.99 → 2.
    expect(dims[1].points.map((p) => p.x)).toEqual([expect.closeTo(1, 12), expect.closeTo(2, 12)]);
    expect(dims[3].categories).toEqual(["0", "0.001"]);
    expect(dims[3].points.map((p) => [p.trialId, p.x])).toEqual([["t1", 0], ["t0", 1]]);
    expect(studyMetric(study)).toBe("devError");
  });

  it("reads the coordinator's `dimensions` record (path → {type, scale, values, points})", () => {
    const answer = {
      ...study,
      spec: undefined,
      dimensions: {
        "optimizer.learningRate": { type: "logUniform", scale: "log", min: 1e-4, max: 1, points: [] },
        "regularization.l2": { type: "choice", scale: "categorical", values: [0, 0.001, 0.01], points: [] },
      },
    };
    const dims = studyDimensions(answer);
    expect(dims.slice(0, 2).map((d) => [d.path, d.scale])).toEqual([["optimizer.learningRate", "log"], ["regularization.l2", "category"]]);
    expect(dims[1].categories).toEqual(["0", "0.001", "0.01"]);
    // Paths only in the trials' values come after, scaled by their values.
    expect(dims.slice(2).map((d) => [d.path, d.scale])).toEqual([["optimizer.beta1", "linear"], ["model.layers[0].units", "linear"]]);
  });

  it("reads dimensions the answer lists with a scale, and falls back to linear for a log axis with values ≤ 0", () => {
    const listed = { ...study, spec: undefined, dimensions: [{ path: "optimizer.learningRate", scale: "log" }], trials: study.trials.slice(0, 2) };
    expect(studyDimensions(listed)[0].scale).toBe("log");
    const zero = { ...listed, trials: [{ ...study.trials[0], values: { "optimizer.learningRate": 0 } }] };
    expect(studyDimensions(zero)[0].scale).toBe("linear");
    // Without any declared space: numbers linear, the rest categories.
    const bare = { ...study, spec: undefined, trials: [{ ...study.trials[0], values: { a: 1, b: "relu" } }] };
    expect(studyDimensions(bare).map((d) => d.scale)).toEqual(["linear", "category"]);
  });
});

describe("sortTrials", () => {
  it("orders by metric either way, trials without a metric last", () => {
    const trials = [
      { id: "a", jobId: null, values: {}, status: "succeeded", epochs: 1, metric: 0.3 },
      { id: "b", jobId: null, values: {}, status: "running", epochs: 0, metric: null },
      { id: "c", jobId: null, values: {}, status: "succeeded", epochs: 1, metric: 0.1 },
    ];
    expect(sortTrials(trials, "asc").map((t) => t.id)).toEqual(["c", "a", "b"]);
    expect(sortTrials(trials, "desc").map((t) => t.id)).toEqual(["a", "c", "b"]);
  });
});

const summary = (id: string, createdAt: string, studyId: string | null, bestDev: number | null, status: JobSummary["status"] = "succeeded"): JobSummary => ({
  id, name: id, status, progress: { epoch: 1, epochs: 2, step: 0, steps: 4, member: 0, members: 1 }, epochsDone: 2,
  bestDev, bestDevMetric: "devError", createdAt, startedAt: createdAt, finishedAt: null, workers: [], studyId,
});

describe("foldTrials", () => {
  it("gathers a study's trials into one item at its newest trial's place, jobs newest first", () => {
    const jobs = [
      summary("a", "2025-01-01T00:00:01Z", null, 0.3),
      summary("t1", "2025-01-01T00:00:02Z", "study_1", 0.2),
      summary("b", "2025-01-01T00:00:03Z", null, null),
      summary("t2", "2025-01-01T00:00:04Z", "study_1", 0.1, "running"),
      summary("t3", "2025-01-01T00:00:05Z", "study_1", null, "running"),
      summary("c", "2025-01-01T00:00:06Z", null, 0.5),
    ];
    const items = foldTrials(jobs);
    expect(items.map((i) => (i.kind === "job" ? i.job.id : i.studyId))).toEqual(["c", "study_1", "b", "a"]);
    const study = items[1];
    if (study.kind !== "study") throw new Error("expected the study item");
    expect(study.trials.map((t) => t.id)).toEqual(["t3", "t2", "t1"]);
    expect(study.counts).toEqual({ running: 2, succeeded: 1 });
    expect(study.best?.id).toBe("t2");
  });

  it("writes a classifier's best dev error as a percentage, a regression's dev loss as a number", () => {
    expect(bestDevText({ bestDev: 0.0825, bestDevMetric: "devError" })).toBe("8.25%");
    expect(bestDevText({ bestDev: 0.0825, bestDevMetric: "devLoss" })).toBe("0.0825");
    expect(bestDevText({ bestDev: null, bestDevMetric: "devError" })).toBe("—");
  });
});

describe("overlaySeries", () => {
  const e = (member: number, ep: number, trainLoss: number, devLoss: number | null, devError: number | null): EpochMetrics =>
    ({ ...epoch(member, ep, null, devError), trainLoss, devLoss: devLoss as number });

  it("puts every job on one epoch axis, members after one another, missing epochs null", () => {
    const overlay = overlaySeries([
      { id: "j1", name: "one", epochs: [e(0, 1, 0.5, 0.6, 0.2), e(0, 0, 0.9, 1.0, 0.4)] },
      { id: "j2", name: "two", epochs: [e(0, 0, 2, 3, 0.5), e(0, 1, 1, 2, 0.3), e(1, 0, 4, 5, 0.6)] },
    ], { log: false });
    expect(overlay.x).toEqual([1, 2, 3]);
    expect(overlay.loss.map((c) => [c.jobId, c.metric, c.values])).toEqual([
      ["j1", "trainLoss", [0.9, 0.5, null]],
      ["j1", "devLoss", [1.0, 0.6, null]],
      ["j2", "trainLoss", [2, 1, 4]],
      ["j2", "devLoss", [3, 2, 5]],
    ]);
    expect(overlay.error.map((c) => c.values)).toEqual([[0.4, 0.2, null], [0.5, 0.3, 0.6]]);
    expect(overlay.loss[0].label).toBe("one training loss");
    expect(plottedPoints(overlay.loss)).toBe(10);
    expect(plottedPoints(overlay.error)).toBe(5);
  });

  it("leaves out, on a log scale, losses that are not positive (and only there)", () => {
    const jobs = [{ id: "j", name: "j", epochs: [e(0, 0, 0, null, 0), e(0, 1, 0.25, 0.5, 0.1)] }];
    expect(overlaySeries(jobs, { log: true }).loss.map((c) => c.values)).toEqual([[null, 0.25], [null, 0.5]]);
    expect(overlaySeries(jobs, { log: false }).loss.map((c) => c.values)).toEqual([[0, 0.25], [null, 0.5]]);
    expect(overlaySeries(jobs, { log: true }).error[0].values).toEqual([0, 0.1]);
  });

  it("names the jobs in the compare page's hash in the order picked", () => {
    expect(compareHash(["job_a", "job b"])).toBe("#/compare/job_a,job%20b");
  });
});

describe("createDashboard", () => {
  it("serves index.html with the auth setting and built files with their types, nothing outside dist/", async () => {
    const root = await mkdtemp(join(tmpdir(), "edgeprop-dashboard-"));
    try {
      await writeFile(join(root, "index.html"), "<head><!--edgeprop:config--></head>");
      await writeFile(join(root, "secret.js"), "no");
      const dashboard = createDashboard({ authRequired: true, root });
      const unbuilt = await dashboard.index();
      expect(unbuilt.status).toBe(503);
      expect(await unbuilt.text()).toMatch(/npm install/);

      await mkdir(join(root, "dist"));
      await writeFile(join(root, "dist", "app.js"), "export {};");
      await writeFile(join(root, "dist", "styles.css"), "body{}");
      const index = await dashboard.index();
      expect(index.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(index.headers.get("content-security-policy")).toMatch(/default-src 'self'/);
      expect(await index.text()).toBe('<head><meta name="edgeprop-auth-required" content="true"></head>');
      expect((await createDashboard({ authRequired: false, root }).index().then((r) => r.text()))).toContain('content="false"');

      const js = await dashboard.asset("app.js");
      expect([js.status, js.headers.get("content-type"), await js.text()]).toEqual([200, "text/javascript; charset=utf-8", "export {};"]);
      expect((await dashboard.asset("styles.css")).headers.get("content-type")).toBe("text/css; charset=utf-8");
      for (const bad of ["../secret.js", "..%2Fsecret.js", "/etc/passwd.js", ".hidden.js", "missing.js", "index.html", "a/../../secret.js"]) {
        expect((await dashboard.asset(bad)).status, bad).toBe(404);
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe("distributionText", () => {
  const progress = { epoch: 1, epochs: 3, step: 4, steps: 10, member: 0, members: 1 };
  it("says sync (also for a record from before the field), or local K×H with the inner state, the outer optimizer and the rounds", () => {
    expect(distributionText({ distribution: { mode: "sync" } }, progress)).toEqual({ mode: "sync", rounds: null });
    expect(distributionText({}, progress)).toEqual({ mode: "sync", rounds: null });
    const local = { mode: "local", replicas: 4, innerSteps: 16, innerState: "reset", outer: { type: "nesterov", learningRate: 0.7, momentum: 0.9 } };
    expect(distributionText({ distribution: local }, { ...progress, rounds: { done: 5, total: 9 } }))
      .toEqual({ mode: "local 4×16 (reset), outer nesterov lr 0.7 momentum 0.9", rounds: "round 5/9" });
    const sgd = { ...local, innerState: "keep", outer: { type: "sgd", learningRate: 1, momentum: 0 } };
    expect(distributionText({ distribution: sgd }, progress).mode).toBe("local 4×16 (keep), outer sgd lr 1");
    const adam = { ...local, outer: { type: "adam", learningRate: 0.001, momentum: 0.9 } };
    expect(distributionText({ distribution: adam }, progress).mode).toBe("local 4×16 (reset), outer adam lr 0.001 beta1 0.9");
  });
});

describe("communicationText", () => {
  it("writes bytes per example and the totals in decimal units, and says when a job was not counted", () => {
    const c = { requests: 1234, bytesSent: 940_000, bytesReceived: 1_234_567, bytesPerExample: 3_141.6 };
    expect(communicationText(c)).toEqual({ perExample: "3.14 KB per example", totals: "1234 requests, 940 KB sent, 1.23 MB received" });
    expect(communicationText({ requests: 0, bytesSent: 0, bytesReceived: 0, bytesPerExample: null })).toEqual({ perExample: "—", totals: "0 requests, 0 B sent, 0 B received" });
    expect(communicationText(null).perExample).toBe("—");
  });
});
