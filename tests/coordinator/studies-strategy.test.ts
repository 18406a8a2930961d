/**
 * The strategies' decisions as pure functions of a study's state (coordinator/studies/strategy.ts)
 * and a trial following its job's record (trial.ts), with the metrics written in the test.
 */
import type { JobSpec } from "../../core/job/spec.ts";
import { describe, expect, it } from "vitest";
import type { JobRecord } from "../../coordinator/store/job-store.ts";
import { advance, bestTrial, initialTrials, parseStudySpec, rungEpochs, type StudyRecord, type TrialRecord } from "../../coordinator/studies/mod.ts";
import { observeJob } from "../../coordinator/studies/trial.ts";

const base = {
  dataset: { id: "builtin:moons" },
  model: { input: [2], layers: [{ type: "dense", units: 4 }, { type: "relu" }, { type: "dense", units: 2 }], output: "softmax" },
  epochs: 9,
};
const space = { "optimizer.learningRate": { type: "logUniform", min: 1e-4, max: 1 } };

function study(strategy: object): StudyRecord {
  const spec = parseStudySpec({ name: "s", base, space, strategy, seed: 1 });
  return { id: "study_x", name: "s", status: "running", spec, createdAt: "2024-01-01T00:00:00.000Z", finishedAt: null, error: null, round: 0, spaces: [spec.space], trials: initialTrials(spec) };
}

/** Every unfinished trial of the current round finished with metric `metrics[index]` (null: failed). */
function finish(s: StudyRecord, metrics: (number | null)[]): StudyRecord {
  return {
    ...s,
    trials: s.trials.map((t): TrialRecord => {
      if (t.status !== "pending" && t.status !== "running") return t;
      const m = metrics[t.index];
      return m === null
        ? { ...t, jobId: `job_${t.index}`, status: "failed", epochs: 1, metric: null, error: "diverged" }
        : { ...t, jobId: `job_${t.index}`, status: "succeeded", epochs: t.budget, metric: m, history: [...t.history, { round: t.round, epochs: t.budget, metric: m }] };
    }),
  };
}

const now = () => "2024-01-02T00:00:00.000Z";

describe("successive halving", () => {
  it("trains rung k for min(minEpochs·eta^k, base.epochs) epochs", () => {
    const s = (minEpochs: number, eta: number) => ({ type: "successiveHalving" as const, trials: 9, minEpochs, eta, concurrency: 1 });
    expect([0, 1, 2, 3, 4].map((k) => rungEpochs(s(5, 2), 20, k))).toEqual([5, 10, 20, 20, 20]);
    expect([0, 1, 2, 3].map((k) => rungEpochs(s(1, 3), 10, k))).toEqual([1, 3, 9, 10]);
  });

  it("promotes the best ⌊n/eta⌋ of a finished rung and stops the rest; a failed trial is never promoted", () => {
    let s = study({ type: "successiveHalving", trials: 9, minEpochs: 1, eta: 3 });
    expect(s.trials.map((t) => t.budget)).toEqual(Array(9).fill(1));
    expect(advance(s, now)).toBe(s); // nothing finished yet
    s = advance(finish(s, [0.5, 0.1, null, 0.3, 0.2, 0.9, 0.05, 0.4, 0.6]), now);
    expect(s.round).toBe(1);
    const promoted = s.trials.filter((t) => t.status === "pending");
    expect(promoted.map((t) => t.id)).toEqual(["t1", "t4", "t6"]);
    expect(promoted.every((t) => t.round === 1 && t.budget === 3 && t.jobId !== null)).toBe(true);
    expect(s.trials.filter((t) => t.status === "stopped").map((t) => t.id)).toEqual(["t0", "t3", "t5", "t7", "t8"]);
    expect(s.trials.find((t) => t.id === "t2")!.status).toBe("failed");

    // Rung 1 → rung 2 (9 epochs = base.epochs): one finalist; t6 was best on rung 0 but not on rung 1.
    s = advance(finish(s, [0, 0.2, 0, 0, 0.15, 0, 0.25, 0, 0]), now);
    expect(s.round).toBe(2);
    expect(s.trials.filter((t) => t.status === "pending").map((t) => [t.id, t.budget])).toEqual([["t4", 9]]);
    expect(bestTrial(s)!.id).toBe("t4"); // the best on the highest rung with results, not t6's 0.05 after 1 epoch

    s = advance(finish(s, [0, 0, 0, 0, 0.12, 0, 0, 0, 0]), now);
    expect(s).toMatchObject({ status: "succeeded", finishedAt: now(), round: 2 });
    expect(bestTrial(s)!.id).toBe("t4");
    expect(s.trials.find((t) => t.id === "t4")!.history.map((h) => [h.round, h.epochs, h.metric])).toEqual([[0, 1, 0.2], [1, 3, 0.15], [2, 9, 0.12]]);
  });

  it("fails the study when no trial produced a metric, naming the failures", () => {
    const s = advance(finish(study({ type: "successiveHalving", trials: 3, minEpochs: 1, eta: 3 }), [null, null, null]), now);
    expect(s.status).toBe("failed");
    expect(s.error).toMatch(/^no trial produced a 'devError' \(t0: diverged; t1: diverged; t2: diverged\)$/);
  });
});

describe("coarse to fine", () => {
  it("zooms each round around the best trials so far that lie in the current space, so the incumbent stays in", () => {
    let s = study({ type: "coarseToFine", rounds: 3, trialsPerRound: 4, keep: 1 });
    const lr = (t: TrialRecord) => t.values["optimizer.learningRate"] as number;
    // Round 0: t2 is best.
    s = advance(finish(s, [0.4, 0.3, 0.1, 0.5]), now);
    expect(s.round).toBe(1);
    const round1 = s.spaces[1]["optimizer.learningRate"] as { min: number; max: number };
    expect(round1.min).toBeLessThanOrEqual(lr(s.trials[2]));
    expect(round1.max).toBeGreaterThanOrEqual(lr(s.trials[2]));
    // Width: the best's point plus 0.1 of the (4-decade) width on each side, clipped to the range.
    expect(Math.log10(round1.max / round1.min)).toBeLessThanOrEqual(0.8 + 1e-9);
    expect(s.trials.slice(4).every((t) => t.round === 1 && t.status === "pending" && lr(t) >= round1.min && lr(t) <= round1.max)).toBe(true);
    // Round 1 is worse everywhere: round 2 still zooms around t2.
    s = advance(finish(s, [0, 0, 0, 0, 0.6, 0.7, 0.8, 0.9]), now);
    const round2 = s.spaces[2]["optimizer.learningRate"] as { min: number; max: number };
    expect(round2.min).toBeLessThanOrEqual(lr(s.trials[2]));
    expect(round2.max).toBeGreaterThanOrEqual(lr(s.trials[2]));
    expect(s.trials.length).toBe(12);
    s = advance(finish(s, Array(12).fill(0.2)), now);
    expect(s.status).toBe("succeeded");
    expect(bestTrial(s)!.id).toBe("t2");
  });
});

describe("grid and random", () => {
  it("end when every trial has finished; the best is the lowest metric, ties to the first", () => {
    const s = study({ type: "random", trials: 4 });
    expect(advance(finish(s, [0.3, 0.2, 0.2, null]), now)).toMatchObject({ status: "succeeded" });
    expect(bestTrial(finish(s, [0.3, 0.2, 0.2, null]))!.id).toBe("t1");
    const g = study({ type: "grid", points: 3 });
    expect(g.trials.map((t) => t.values["optimizer.learningRate"])).toEqual([1e-4, 0.01, 1]);
  });
});

describe("a trial following its job", () => {
  // A trial reads only its job's epochs.
  const specOf = (epochs: number) => ({ epochs }) as JobSpec;
  const trial: TrialRecord = { id: "t0", index: 0, round: 1, values: {}, budget: 6, jobId: "job_a", status: "pending", epochs: 2, metric: 0.3, error: null, history: [{ round: 0, epochs: 2, metric: 0.3 }] };
  const job = (over: Partial<JobRecord>): JobRecord => ({
    id: "job_a", name: "s/t0", status: "succeeded", spec: specOf(2), createdAt: "", startedAt: "", finishedAt: "",
    progress: { epoch: 1, epochs: 2, step: 6, steps: 6, member: 0, members: 1 },
    metrics: { trainLoss: 0.1, trainError: 0.05, devLoss: 0.2, devError: 0.25, testLoss: null, testError: null },
    diagnosis: null, error: null, throughput: { examplesPerSecond: null }, timing: { stepMs: null, breakdown: null }, workers: [], studyId: "study_x", bestDev: null,
    ...over,
  });

  it("stays pending while its job has not been extended to the trial's budget, runs once it is, and records each budget's metric once", () => {
    expect(observeJob(trial, job({}), "devError")).toMatchObject({ status: "pending", epochs: 2, metric: 0.3 });
    const running = observeJob(trial, job({ status: "running", spec: specOf(6), progress: { epoch: 3, epochs: 6, step: 2, steps: 6, member: 0, members: 1 } }), "devError");
    expect(running).toMatchObject({ status: "running", epochs: 3 });
    const done = observeJob(running, job({ spec: specOf(6), progress: { epoch: 5, epochs: 6, step: 6, steps: 6, member: 0, members: 1 }, metrics: { ...job({}).metrics, devError: 0.2 } }), "devError");
    expect(done).toMatchObject({ status: "succeeded", epochs: 6, metric: 0.2 });
    expect(done.history).toEqual([{ round: 0, epochs: 2, metric: 0.3 }, { round: 1, epochs: 6, metric: 0.2 }]);
    expect(observeJob({ ...done, status: "running" }, job({ spec: specOf(6) }), "devError").history.length).toBe(2);
  });

  it("fails with its job's error, or when its job is gone", () => {
    expect(observeJob({ ...trial, status: "running" }, job({ status: "failed", error: "diverged: 5 non-finite steps" }), "devError")).toMatchObject({ status: "failed", metric: null, error: "diverged: 5 non-finite steps" });
    expect(observeJob({ ...trial, status: "running" }, null, "devError")).toMatchObject({ status: "failed", error: "its job 'job_a' no longer exists" });
  });
});
