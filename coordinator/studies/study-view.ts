/**
 * What `GET /v1/studies[/:id]` answers: a study's trials (best first is the client's choice; here
 * in creation order) with live progress, the best trial and its job spec, and for each
 * hyperparameter the sampled values against the metric with the dimension's scale, so a chart can
 * put a learning rate on a log axis without knowing the space's types.
 */
import type { JobSpec } from "../../core/job/spec.ts";
import type {
  AxisScale,
  BestView as BestViewOf,
  DimensionView,
  StudySummary,
  StudyView as StudyViewOf,
  TrialView,
} from "../../core/job/study-api.ts";
import type { Dimension, Space } from "../../core/search/mod.ts";
import type { JobRecord } from "../store/job-store.ts";
import { bestTrial, rungEpochs } from "./strategy.ts";
import type { StudyRecord, TrialRecord } from "./study-record.ts";
import type { StudySpec } from "./study-spec.ts";
import { trialJobName, trialSpec } from "./trial.ts";

export type { AxisScale, DimensionView, TrialView };
export type BestView = BestViewOf<JobSpec>;
export type StudyView = StudyViewOf<JobSpec, StudySpec, Space>;
export type { StudySummary };

function scaleOf(d: Dimension): AxisScale {
  switch (d.type) {
    case "choice":
      return "categorical";
    case "logUniform":
      return "log";
    case "oneMinusLog":
      return "oneMinusLog";
    case "int":
      return d.log === true ? "log" : "linear";
    case "uniform":
      return "linear";
  }
}

function counts(trials: readonly TrialRecord[]): StudyView["counts"] {
  const out = { total: trials.length, pending: 0, running: 0, succeeded: 0, stopped: 0, failed: 0, cancelled: 0 };
  for (const t of trials) out[t.status]++;
  return out;
}

/** The best trial with the result it is best by (for successive halving, its highest rung's). */
function best(study: StudyRecord): BestView | null {
  const trial = bestTrial(study);
  if (!trial) return null;
  const { spec } = study;
  const s = spec.strategy;
  let metric = trial.metric!, epochs = trial.epochs, budget: number | undefined;
  if (s.type === "successiveHalving") {
    const top = Math.max(...trial.history.filter((h) => h.metric !== null).map((h) => h.round));
    const result = trial.history.find((h) => h.round === top)!;
    metric = result.metric!;
    epochs = result.epochs;
    budget = rungEpochs(s, spec.base.epochs, top);
  }
  const job = trialSpec(spec, trial.values, { name: trialJobName(study.name, trial.id), epochs: budget });
  return { trialId: trial.id, jobId: trial.jobId, values: trial.values, metric, epochs, spec: job };
}

/**
 * The view of a study. `jobs` holds the records of its running trials' jobs (for live epochs and
 * progress); trials whose job is not in it show their stored state.
 */
export function studyView(study: StudyRecord, jobs: ReadonlyMap<string, JobRecord> = new Map()): StudyView {
  const trials = study.trials.map((t): TrialView => {
    const job = t.status === "running" && t.jobId !== null ? jobs.get(t.jobId) : undefined;
    const p = job?.progress;
    const epochs = p ? p.epoch + (p.steps > 0 && p.step >= p.steps ? 1 : 0) : t.epochs;
    return {
      id: t.id, index: t.index, round: t.round, jobId: t.jobId, values: t.values, status: t.status, epochs, budget: t.budget,
      metric: t.metric, error: t.error, history: t.history,
      progress: p ? { epoch: p.epoch, epochs: p.epochs, step: p.step, steps: p.steps } : null,
    };
  });
  const dimensions: Record<string, DimensionView> = {};
  for (const [path, d] of Object.entries(study.spec.space)) {
    const points = study.trials
      .filter((t) => t.metric !== null)
      .map((t) => ({ trialId: t.id, value: t.values[path], metric: t.metric!, epochs: t.epochs }));
    dimensions[path] = d.type === "choice"
      ? { type: d.type, scale: "categorical", values: d.values, points }
      : { type: d.type, scale: scaleOf(d), min: d.min, max: d.max, points };
  }
  return {
    id: study.id,
    name: study.name,
    status: study.status,
    error: study.error,
    createdAt: study.createdAt,
    finishedAt: study.finishedAt,
    metric: study.spec.metric,
    strategy: study.spec.strategy,
    spec: study.spec,
    round: study.round,
    spaces: study.spaces,
    counts: counts(study.trials),
    epochs: trials.reduce((n, t) => n + t.epochs, 0),
    trials,
    best: best(study),
    dimensions,
  };
}

/** One line of `GET /v1/studies`. */
export function studySummary(study: StudyRecord): StudySummary {
  const b = best(study);
  return {
    id: study.id,
    name: study.name,
    status: study.status,
    strategy: study.spec.strategy.type,
    metric: study.spec.metric,
    counts: counts(study.trials),
    best: b ? { trialId: b.trialId, metric: b.metric, values: b.values } : null,
    createdAt: study.createdAt,
    finishedAt: study.finishedAt,
  };
}
