/**
 * Runs hyperparameter studies on the JobManager: validates a study whole before it creates any job,
 * then drives it: follows its trials' jobs, lets the strategy decide (strategy.ts), submits new
 * trials as ordinary jobs (tagged with the study id, so they show in `/v1/jobs`, share the workers
 * with every other job and resume after a crash like any job), extends promoted successive-halving
 * trials from their checkpoints, and keeps at most `concurrency` trials running. The study record
 * is written after every change, and on start `resumeAll` drives every study a killed coordinator
 * left running: it adopts jobs that were submitted but not yet recorded, so no trial runs twice.
 */
import { randomBytes } from "node:crypto";
import { HttpError } from "../../core/http/http-error.ts";
import { ValidationError } from "../../core/validation-error.ts";
import type { JobManager } from "../jobs/job-manager.ts";
import type { JobRecord, JobStore } from "../store/job-store.ts";
import { advance, initialTrials } from "./strategy.ts";
import { FINISHED_TRIAL, type StudyRecord, type TrialRecord } from "./study-record.ts";
import { DEFAULT_STUDY_LIMITS, parseStudySpec, type StudyLimits } from "./study-spec.ts";
import { type StudySummary, studySummary, type StudyView, studyView } from "./study-view.ts";
import { checkTrials, observeJob, trialJobName, trialSpec } from "./trial.ts";

export interface StudyManagerOptions {
  readonly jobs: JobManager;
  readonly store: JobStore;
  readonly limits?: Partial<StudyLimits>;
  /**
   * How often (ms) a study looks at its jobs besides when one ends: live epochs in the stored
   * record, and a fallback should a job's end go unnoticed. Default 1000.
   */
  readonly pollMs?: number;
}

interface Driver {
  study: StudyRecord;
  saved: string;
  cancel: boolean;
  wake: () => void;
  done: Promise<void>;
}

export class StudyManager {
  readonly #jobs: JobManager;
  readonly #store: JobStore;
  readonly #limits: StudyLimits;
  readonly #pollMs: number;
  readonly #drivers = new Map<string, Driver>();
  /** Studies that failed but could not be written (a full disk): shown instead of the stale stored record. */
  readonly #unsaved = new Map<string, StudyRecord>();
  #stopping = false;

  constructor(options: StudyManagerOptions) {
    this.#jobs = options.jobs;
    this.#store = options.store;
    this.#limits = { ...DEFAULT_STUDY_LIMITS, ...options.limits };
    this.#pollMs = options.pollMs ?? 1000;
  }

  /**
   * Validates a study (the spec, the base spec against its dataset and workers, every path of the
   * space and every initial trial's job spec), stores it and starts it. Throws a ValidationError or
   * HttpError (400) naming the problem; nothing is created then.
   */
  async create(raw: unknown): Promise<StudyRecord> {
    const spec = parseStudySpec(raw, this.#limits);
    try {
      await this.#jobs.validate(spec.base);
    } catch (error) {
      const field = (f: string | undefined) => (f === undefined ? "base" : `base.${f}`);
      if (error instanceof ValidationError) throw new ValidationError(field(error.field), `Cannot create study: 'base': ${error.message}`, error.code);
      if (error instanceof HttpError) throw new HttpError(error.status, error.code, `Cannot create study: 'base': ${error.message}`, { field: field(error.field) });
      throw error;
    }
    const trials = initialTrials(spec);
    if (trials.length > this.#limits.maxTrials) {
      throw new ValidationError("strategy", `Cannot create study: the grid has ${trials.length} points, more than the limit of ${this.#limits.maxTrials}`, "limit_exceeded");
    }
    checkTrials(spec, trials);
    const study: StudyRecord = {
      id: `study_${randomBytes(12).toString("hex")}`,
      name: spec.name,
      status: "running",
      spec,
      createdAt: new Date().toISOString(),
      finishedAt: null,
      error: null,
      round: 0,
      spaces: [spec.space],
      trials,
    };
    await this.#store.putStudy(study);
    this.#drive(study, false);
    return study;
  }

  /** Drives every study a previous process left running (after `JobManager.resumeAll`). */
  async resumeAll(): Promise<number> {
    let resumed = 0;
    for (const study of await this.#store.listStudies()) {
      if (study.status !== "running" || this.#drivers.has(study.id)) continue;
      this.#drive(study, true);
      resumed++;
    }
    return resumed;
  }

  async get(id: string): Promise<StudyRecord | null> {
    return this.#drivers.get(id)?.study ?? this.#unsaved.get(id) ?? (await this.#store.getStudy(id));
  }

  async list(): Promise<StudyRecord[]> {
    return (await this.#store.listStudies()).map((s) => this.#drivers.get(s.id)?.study ?? this.#unsaved.get(s.id) ?? s);
  }

  /** The study as `GET /v1/studies/:id` shows it, with its running trials' live progress. */
  async view(id: string): Promise<StudyView | null> {
    const study = await this.get(id);
    if (!study) return null;
    const jobs = new Map<string, JobRecord>();
    for (const t of study.trials) {
      if (t.status !== "running" || t.jobId === null) continue;
      const job = await this.#jobs.get(t.jobId);
      if (job) jobs.set(job.id, job);
    }
    return studyView(study, jobs);
  }

  async summaries(): Promise<StudySummary[]> {
    return (await this.list()).map(studySummary);
  }

  /** Cancels a running study: its running trials' jobs are cancelled, pending trials never start. */
  async cancel(id: string): Promise<StudyRecord | null> {
    const driver = this.#drivers.get(id);
    if (!driver) return this.#store.getStudy(id);
    driver.cancel = true;
    driver.wake();
    await driver.done;
    return driver.study;
  }

  /** Waits until a study is no longer driven (it ended, or the manager shut down). */
  async settled(id: string): Promise<void> {
    await this.#drivers.get(id)?.done;
  }

  /** Stops driving studies without changing them (a shutdown: they resume on the next start). */
  async shutdown(): Promise<void> {
    this.#stopping = true;
    for (const d of this.#drivers.values()) d.wake();
    await Promise.all([...this.#drivers.values()].map((d) => d.done));
  }

  #drive(study: StudyRecord, resumed: boolean): void {
    const driver: Driver = { study, saved: JSON.stringify(study), cancel: false, wake: () => {}, done: Promise.resolve() };
    this.#drivers.set(study.id, driver);
    driver.done = this.#run(driver, resumed).finally(() => this.#drivers.delete(study.id));
  }

  async #save(driver: Driver): Promise<void> {
    const text = JSON.stringify(driver.study);
    if (text === driver.saved) return;
    await this.#store.putStudy(driver.study);
    driver.saved = text;
  }

  async #run(driver: Driver, resumed: boolean): Promise<void> {
    try {
      // Jobs of this study by name: a job submitted just before a crash, before its id was stored.
      const unrecorded = new Map<string, string>();
      if (resumed) {
        const known = new Set(driver.study.trials.map((t) => t.jobId));
        for (const job of await this.#jobs.list()) {
          if (job.studyId === driver.study.id && !known.has(job.id)) unrecorded.set(job.name, job.id);
        }
      }
      const ignored = new Set<string>(); // jobs whose end cannot be awaited (stopped by a shutdown)
      for (;;) {
        if (this.#stopping) return;
        if (driver.cancel) return await this.#cancelAll(driver);
        driver.study = advance(await this.#observe(driver.study));
        await this.#save(driver);
        await this.#launch(driver, unrecorded);
        if (driver.study.status !== "running") return;
        await this.#wait(driver, ignored);
      }
    } catch (error) {
      if (this.#stopping) return;
      console.error(`coordinator: study ${driver.study.id} stopped:`, error);
      const message = error instanceof Error ? error.message : String(error);
      driver.study = { ...driver.study, status: "failed", error: `the study stopped: ${message}`, finishedAt: new Date().toISOString() };
      const failed = driver.study;
      await this.#store.putStudy(failed).then(() => this.#unsaved.delete(failed.id), () => this.#unsaved.set(failed.id, failed));
    }
  }

  /** The study with every unfinished trial brought up to date with its job's record. */
  async #observe(study: StudyRecord): Promise<StudyRecord> {
    let changed = false;
    const trials: TrialRecord[] = [];
    for (const t of study.trials) {
      const next = t.jobId !== null && !FINISHED_TRIAL.has(t.status) ? observeJob(t, await this.#jobs.get(t.jobId), study.spec.metric) : t;
      changed ||= next !== t;
      trials.push(next);
    }
    return changed ? { ...study, trials } : study;
  }

  /** Starts pending trials, in order, while fewer than `concurrency` run; saves after each. */
  async #launch(driver: Driver, unrecorded: Map<string, string>): Promise<void> {
    const limit = driver.study.spec.strategy.concurrency;
    for (let i = 0; i < driver.study.trials.length; i++) {
      if (this.#stopping || driver.cancel || driver.study.status !== "running") return;
      if (driver.study.trials.filter((t) => t.status === "running").length >= limit) return;
      const trial = driver.study.trials[i];
      if (trial.status !== "pending") continue;
      const started = await this.#start(driver.study, trial, unrecorded);
      driver.study = { ...driver.study, trials: driver.study.trials.map((t) => (t.id === started.id ? started : t)) };
      await this.#save(driver);
    }
  }

  /**
   * Starts one pending trial: submits its job (or adopts the unrecorded job of its name), or, for a
   * successive-halving promotion, extends its job to the new budget. A refusal fails the trial.
   */
  async #start(study: StudyRecord, trial: TrialRecord, unrecorded: Map<string, string>): Promise<TrialRecord> {
    const name = trialJobName(study.name, trial.id);
    try {
      if (trial.jobId === null) {
        const adopted = unrecorded.get(name);
        if (adopted) return { ...trial, jobId: adopted, status: "running" };
        const epochs = study.spec.strategy.type === "successiveHalving" ? trial.budget : undefined;
        const job = await this.#jobs.submit(trialSpec(study.spec, trial.values, { name, epochs }), { studyId: study.id });
        return { ...trial, jobId: job.id, status: "running", error: null };
      }
      await this.#jobs.extend(trial.jobId, trial.budget);
      return { ...trial, status: "running" };
    } catch (error) {
      if (error instanceof HttpError || error instanceof ValidationError) {
        return { ...trial, status: "failed", error: error.message };
      }
      throw error;
    }
  }

  /**
   * Waits until a running trial's job ends, the study is woken (cancel, shutdown) or `pollMs`
   * passes. A job whose wait ends while its record still says running was stopped by a shutdown
   * of the JobManager: it is not awaited again (the poll covers it), so the loop cannot spin.
   */
  async #wait(driver: Driver, ignored: Set<string>): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const waits: Promise<string | null>[] = [
      new Promise((resolve) => {
        driver.wake = () => resolve(null);
        timer = setTimeout(() => resolve(null), this.#pollMs);
      }),
    ];
    for (const t of driver.study.trials) {
      if (t.status === "running" && t.jobId !== null && !ignored.has(t.jobId)) {
        const id = t.jobId;
        waits.push(this.#jobs.settled(id).then(() => id));
      }
    }
    const ended = await Promise.race(waits);
    clearTimeout(timer);
    if (ended !== null) {
      const job = await this.#jobs.get(ended);
      if (job && (job.status === "running" || job.status === "queued")) ignored.add(ended);
    }
  }

  async #cancelAll(driver: Driver): Promise<void> {
    for (const t of driver.study.trials) {
      if (t.status === "running" && t.jobId !== null) await this.#jobs.cancel(t.jobId);
    }
    const observed = await this.#observe(driver.study);
    driver.study = {
      ...observed,
      status: "cancelled",
      finishedAt: new Date().toISOString(),
      trials: observed.trials.map((t) => (FINISHED_TRIAL.has(t.status) ? t : { ...t, status: "cancelled", error: "the study was cancelled" })),
    };
    await this.#save(driver);
  }
}
