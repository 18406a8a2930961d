/**
 * The search strategies as pure functions of a study's state (like a Flower strategy: it decides,
 * the study manager carries it out): which trials a study starts with, and what happens when every
 * trial of the current round has finished: another coarse-to-fine round in a zoomed space, the
 * next successive-halving rung, or the end of the study. No I/O, so each rule is testable alone
 * and a restarted study takes the same decisions from its stored state.
 */
import { gridSearch, randomSearch, type Space, type Values, zoom } from "../../core/search/mod.ts";
import { FINISHED_TRIAL, type StudyRecord, type TrialRecord } from "./study-record.ts";
import type { StudySpec, SuccessiveHalvingStrategy } from "./study-spec.ts";

/**
 * The epochs of successive-halving rung k (0-based): min(minEpochs·eta^k, maxEpochs), with maxEpochs
 * the base spec's `epochs`; the last rung is the first that reaches maxEpochs.
 */
export function rungEpochs(strategy: SuccessiveHalvingStrategy, maxEpochs: number, rung: number): number {
  let epochs = strategy.minEpochs;
  for (let k = 0; k < rung && epochs < maxEpochs; k++) epochs *= strategy.eta;
  return Math.min(epochs, maxEpochs);
}

function newTrial(index: number, round: number, values: Values, budget: number): TrialRecord {
  return { id: `t${index}`, index, round, values, budget, jobId: null, status: "pending", epochs: 0, metric: null, error: null, history: [] };
}

/** The epochs a trial's job trains when the strategy does not set them: `epochs` from the values, else the base's. */
function epochsOf(spec: StudySpec, values: Values): number {
  const epochs = values.epochs;
  return typeof epochs === "number" ? epochs : spec.base.epochs;
}

/**
 * The trials a study starts with, all pending: grid, every point of the grid; random, `trials`
 * samples; coarse-to-fine, round 0's `trialsPerRound` samples of the whole space; successive
 * halving, `trials` samples on rung 0's budget. Random samples come from randomSearch with the
 * study's seed, so a random study and a successive-halving study with the same seed, space and
 * trial count try the same values.
 */
export function initialTrials(spec: StudySpec): TrialRecord[] {
  const s = spec.strategy;
  switch (s.type) {
    case "grid":
      return gridSearch(spec.space, s.points).map((values, i) => newTrial(i, 0, values, epochsOf(spec, values)));
    case "random":
      return randomSearch(spec.space, s.trials, spec.seed).map((values, i) => newTrial(i, 0, values, epochsOf(spec, values)));
    case "coarseToFine":
      return randomSearch(spec.space, s.trialsPerRound, spec.seed, { round: 0 }).map((values, i) => newTrial(i, 0, values, epochsOf(spec, values)));
    case "successiveHalving": {
      const budget = rungEpochs(s, spec.base.epochs, 0);
      return randomSearch(spec.space, s.trials, spec.seed).map((values, i) => newTrial(i, 0, values, budget));
    }
  }
}

/** Trials ordered best first: lower metric, then lower index; trials without a metric are left out. */
export function ranked(trials: readonly TrialRecord[]): TrialRecord[] {
  return trials.filter((t) => t.metric !== null).sort((a, b) => a.metric! - b.metric! || a.index - b.index);
}

/**
 * The best trial so far: the lowest metric; for successive halving, among the trials with a result
 * on the highest rung reached (metrics after fewer epochs are not comparable). Null until a trial
 * has a metric.
 */
export function bestTrial(study: StudyRecord): TrialRecord | null {
  if (study.spec.strategy.type !== "successiveHalving") return ranked(study.trials)[0] ?? null;
  let top = -1;
  for (const t of study.trials) for (const h of t.history) if (h.metric !== null) top = Math.max(top, h.round);
  const candidates = study.trials
    .map((t) => ({ t, h: t.history.find((h) => h.round === top && h.metric !== null) }))
    .filter((c) => c.h !== undefined)
    .sort((a, b) => a.h!.metric! - b.h!.metric! || a.t.index - b.t.index);
  return candidates[0]?.t ?? null;
}

function inside(space: Space, values: Values): boolean {
  return Object.entries(space).every(([path, d]) => {
    const v = values[path];
    if (d.type === "choice") return d.values.some((x) => JSON.stringify(x) === JSON.stringify(v));
    return typeof v === "number" && v >= d.min && v <= d.max;
  });
}

/**
 * The study's next state once its trials' statuses are current (see observeJob). While a trial of
 * the current round is pending or running, nothing changes. When all have finished:
 * - grid, random: the study ends;
 * - coarse-to-fine: unless that was the last round, the next round samples `trialsPerRound` values
 *   (stream = round number) from the current space zoomed around the best `keep` trials so far
 *   that lie inside it (the incumbent always does, so it is never zoomed out); with no metric yet
 *   the space stays as it is;
 * - successive halving: unless the rung trained the full `base.epochs`, the best ⌊n/eta⌋ (at least
 *   one) of the rung's n trials are promoted to the next rung's budget (pending: their jobs are
 *   extended) and the others are stopped.
 * A study ends succeeded when a trial has a metric, failed otherwise.
 */
export function advance(study: StudyRecord, now: () => string = () => new Date().toISOString()): StudyRecord {
  if (study.status !== "running") return study;
  if (study.trials.some((t) => !FINISHED_TRIAL.has(t.status))) return study;
  const { spec } = study;
  const s = spec.strategy;
  if (s.type === "coarseToFine" && study.round + 1 < s.rounds) {
    const current = study.spaces[study.round];
    const best = ranked(study.trials).filter((t) => inside(current, t.values)).slice(0, s.keep);
    const next = best.length > 0 ? zoom(current, best.map((t) => t.values)) : current;
    const round = study.round + 1;
    const start = study.trials.length;
    const added = randomSearch(next, s.trialsPerRound, spec.seed, { round }).map((values, i) => newTrial(start + i, round, values, epochsOf(spec, values)));
    return { ...study, round, spaces: [...study.spaces, next], trials: [...study.trials, ...added] };
  }
  if (s.type === "successiveHalving") {
    const rung = study.round;
    const budget = rungEpochs(s, spec.base.epochs, rung);
    const members = study.trials.filter((t) => t.round === rung);
    const promoted = budget < spec.base.epochs
      ? ranked(members.filter((t) => t.status === "succeeded")).slice(0, Math.max(1, Math.floor(members.length / s.eta)))
      : [];
    if (promoted.length > 0) {
      const ids = new Set(promoted.map((t) => t.id));
      const nextBudget = rungEpochs(s, spec.base.epochs, rung + 1);
      const trials = study.trials.map((t): TrialRecord => {
        if (ids.has(t.id)) return { ...t, round: rung + 1, budget: nextBudget, status: "pending" };
        if (t.round === rung && t.status === "succeeded") return { ...t, status: "stopped" };
        return t;
      });
      return { ...study, round: rung + 1, trials };
    }
  }
  const best = bestTrial(study);
  const finishedAt = now();
  if (best) return { ...study, status: "succeeded", finishedAt };
  const failures = study.trials.filter((t) => t.error).slice(0, 3).map((t) => `${t.id}: ${t.error}`);
  return {
    ...study,
    status: "failed",
    finishedAt,
    error: `no trial produced a '${spec.metric}'${failures.length ? ` (${failures.join("; ")})` : ""}`,
  };
}
