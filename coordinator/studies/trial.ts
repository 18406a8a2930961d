/**
 * One trial of a study: its job spec (the base with the sampled values set), the check that every
 * job a study will create is valid before it creates any, and how a trial follows its job's record.
 */
import { type JobSpec, parseJobSpec } from "../../core/job/spec.ts";
import { applyValues, type Values } from "../../core/search/mod.ts";
import { show } from "../../core/validate.ts";
import { ValidationError } from "../../core/validation-error.ts";
import type { JobRecord } from "../store/job-store.ts";
import type { TrialRecord } from "./study-record.ts";
import type { StudyMetric, StudySpec } from "./study-spec.ts";

const WHAT = "Cannot create study";

/**
 * The job name of a trial, `<study name>/<trial id>`: it shows in `/v1/jobs` which trial a job
 * runs, and it lets a restarted study adopt a job it submitted but had not yet recorded.
 */
export function trialJobName(studyName: string, trialId: string): string {
  return `${studyName}/${trialId}`;
}

/**
 * The job spec of a trial: the (parsed) base with every `path → value` set, where a missing last
 * key is created (`optimizer.beta1` on an Adam spec that leaves it to its default, `regularization.l2`
 * on a spec without L2); named `name`, and with `epochs` replaced when given (successive halving's
 * budget). Validated with parseJobSpec, so a value no job accepts throws its ValidationError.
 */
export function trialSpec(spec: StudySpec, values: Values, options: { readonly name: string; readonly epochs?: number }): JobSpec {
  const applied = applyValues(spec.base as unknown as Record<string, unknown>, values, { create: true });
  return parseJobSpec({ ...applied, name: options.name, ...(options.epochs === undefined ? {} : { epochs: options.epochs }) });
}

function detail(error: unknown): string {
  if (!(error instanceof ValidationError)) throw error;
  return error.message.replace(/^Cannot [^:]*: /, "");
}

/**
 * Checks, before a study creates any job, that every path of the space names a field of the base
 * spec and that each end of every range (every value of a choice), set on the first trial's values,
 * gives a valid job: later coarse-to-fine rounds sample inside those ranges, so a range that
 * includes a value no job accepts is refused even where no sample hits it. Then checks every
 * initial trial's spec, and for successive halving that each trains a single model (only those can
 * be continued from a checkpoint). Throws a ValidationError naming the path and value.
 */
export function checkTrials(spec: StudySpec, trials: readonly TrialRecord[]): void {
  const name = trialJobName(spec.name, "t0");
  const reference = trials[0]?.values ?? {};
  for (const [path, dimension] of Object.entries(spec.space)) {
    try {
      applyValues(spec.base as unknown as Record<string, unknown>, { [path]: null }, { create: true });
    } catch (error) {
      throw new ValidationError(`space["${path}"]`, `${WHAT}: 'space["${path}"]' is not a path of the base job spec: ${detail(error)}`);
    }
    const ends = dimension.type === "choice" ? dimension.values : [dimension.min, dimension.max];
    for (const value of ends) {
      try {
        trialSpec(spec, { ...reference, [path]: value }, { name });
      } catch (error) {
        throw new ValidationError(`space["${path}"]`, `${WHAT}: 'space["${path}"]' allows ${show(value)}, which makes an invalid job spec: ${detail(error)}`);
      }
    }
  }
  for (const trial of trials) {
    let job: JobSpec;
    try {
      job = trialSpec(spec, trial.values, { name, epochs: spec.strategy.type === "successiveHalving" ? trial.budget : undefined });
    } catch (error) {
      throw new ValidationError(error instanceof ValidationError ? error.field : undefined, `${WHAT}: trial ${trial.id} (${show(trial.values)}) is not a valid job spec: ${detail(error)}`);
    }
    if (spec.strategy.type === "successiveHalving" && job.ensemble.members !== 1) {
      throw new ValidationError("ensemble.members", `${WHAT}: successiveHalving continues trials from their checkpoints, which needs 'ensemble.members' 1, current value is ${job.ensemble.members} (trial ${trial.id})`);
    }
  }
}

/**
 * Epochs a job has completed, from its progress record: the 0-based epoch under way, plus one when
 * its last step is done (an early-stopped or finished job ends there).
 */
export function completedEpochs(job: JobRecord): number {
  const p = job.progress;
  return p.epoch + (p.steps > 0 && p.step >= p.steps ? 1 : 0);
}

/**
 * A trial brought up to date with its job's record: running while the job is queued or running;
 * back to pending when the job succeeded on a smaller budget than the trial's (a successive-halving
 * promotion not yet applied: the job is extended next); succeeded with the metric of the final
 * model (appended to its history) when the job succeeded on the trial's budget; failed or
 * cancelled with the job. Trials without a job, or finished, are returned as they are.
 */
export function observeJob(trial: TrialRecord, job: JobRecord | null, metric: StudyMetric): TrialRecord {
  if (trial.jobId === null || (trial.status !== "running" && trial.status !== "pending")) return trial;
  if (job === null) return { ...trial, status: "failed", error: `its job '${trial.jobId}' no longer exists` };
  const epochs = completedEpochs(job);
  const specEpochs = (job.spec as { epochs: number }).epochs;
  switch (job.status) {
    case "queued":
    case "running":
      return specEpochs >= trial.budget ? { ...trial, status: "running", epochs } : trial;
    case "succeeded": {
      if (specEpochs < trial.budget) return { ...trial, status: "pending", epochs };
      const value = job.metrics[metric];
      const last = trial.history.at(-1);
      const history = last && last.round === trial.round ? trial.history : [...trial.history, { round: trial.round, epochs, metric: value }];
      return { ...trial, status: "succeeded", epochs, metric: value, error: null, history };
    }
    case "failed":
      return { ...trial, status: "failed", epochs, metric: null, error: job.error ?? "its job failed" };
    case "cancelled":
      return { ...trial, status: "cancelled", epochs, error: "its job was cancelled" };
  }
}
