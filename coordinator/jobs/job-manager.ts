/**
 * Jobs from submission to artifact: validates a spec (a 400 before anything runs), starts its run
 * (job-run.ts) on the job's pool (pool-registry.ts), answers for its record, metrics, model and
 * predictions (model-artifact.ts), and on start resumes every job a killed coordinator left running.
 * A spec is parsed, its model planned and its dataset loaded once per process: at submission, or
 * when a stored job is resumed or extended.
 */
import type { Dataset } from "../../core/data/mod.ts";
import { HttpError } from "../../core/http/http-error.ts";
import { DEFAULT_JOB_LIMITS, type JobSpec, parseJobSpec } from "../../core/job/spec.ts";
import { DEFAULT_WORKER_LIMITS } from "../../core/limits.ts";
import { planModel, type ModelPlan } from "../../core/model/spec.ts";
import { ValidationError } from "../../core/validation-error.ts";
import { DatasetRegistry, UnknownDatasetError } from "../datasets/registry.ts";
import { newestFirst, type Page, type PageRequest, pageOfIds } from "../paging.ts";
import type { WorkerPool, WorkerStatus } from "../pool/worker-pool.ts";
import type { JobRecord, JobStore } from "../store/job-store.ts";
import { communicationView, NO_COMMUNICATION } from "../training/communication.ts";
import { checkDataFits } from "../training/prepared-data.ts";
import { minRequestBytes } from "../training/shard-plan.ts";
import type { MetricsEntry } from "../training/trainer.ts";
import { JobEvents } from "./events.ts";
import { isTimedJobId, newJobId } from "./job-id.ts";
import { type AcceptedJob, type Checkpoint, decodeCheckpoint, type RunEntry, runJob } from "./job-run.ts";
import { decodeArtifact, encodeArtifact, type ModelArtifact, predict } from "./model-artifact.ts";
import { PoolRegistry } from "./pool-registry.ts";

export interface JobManagerOptions {
  readonly store: JobStore;
  readonly registry: DatasetRegistry;
  /** Workers for jobs whose spec names none. */
  readonly defaultWorkers: readonly string[];
  readonly workerSecret?: string;
  /** Builds the shared pool of a worker list (default: an HttpPool); tests pass an in-process one. */
  readonly createPool?: (urls: readonly string[]) => Promise<WorkerPool>;
}

const EMPTY_METRICS = { trainLoss: null, trainError: null, devLoss: null, devError: null, testLoss: null, testError: null };

export class JobManager {
  readonly events = new JobEvents();
  readonly #store: JobStore;
  readonly #registry: DatasetRegistry;
  readonly #running = new Map<string, RunEntry & { done: Promise<void> }>();
  readonly #pools: PoolRegistry;
  /** Records of jobs that ended (failed) but could not be written (a full disk): shown instead of the stale stored one. */
  readonly #unsaved = new Map<string, JobRecord>();

  constructor(options: JobManagerOptions) {
    this.#store = options.store;
    this.#registry = options.registry;
    this.#pools = new PoolRegistry(options);
  }

  /** Validates and queues a job; throws a ValidationError or HttpError (400) naming the problem. */
  async submit(raw: unknown, extra: { studyId?: string } = {}): Promise<JobRecord> {
    const accepted = await this.#accept(parseJobSpec(raw));
    const { spec } = accepted;
    const record: JobRecord = {
      id: newJobId(),
      name: spec.name,
      status: "queued",
      spec,
      createdAt: new Date().toISOString(),
      startedAt: null,
      finishedAt: null,
      progress: { epoch: 0, epochs: spec.epochs, step: 0, steps: 0, member: 0, members: spec.ensemble.members },
      metrics: EMPTY_METRICS,
      diagnosis: null,
      error: null,
      throughput: { examplesPerSecond: null },
      timing: { stepMs: null, breakdown: null },
      communication: communicationView(NO_COMMUNICATION),
      workers: this.#pools.workersOf(spec),
      studyId: extra.studyId ?? null,
      bestDev: null,
      earlyStopping: null,
    };
    await this.#store.putJob(record);
    this.#start(record, accepted, null);
    return record;
  }

  /**
   * Everything `submit` checks, without queueing anything: a study validates its base spec this way
   * before it creates any trial. Returns the parsed spec; throws as `submit` does.
   */
  async validate(raw: unknown): Promise<JobSpec> {
    return (await this.#accept(parseJobSpec(raw))).spec;
  }

  /** A parsed spec checked against its dataset and workers, with its plan and dataset. */
  async #accept(spec: JobSpec): Promise<AcceptedJob> {
    const urls = this.#pools.workersOf(spec);
    if (urls.length === 0) {
      throw new HttpError(400, "no_workers", "'workers.urls' is empty and the coordinator has no default workers (start it with --workers or EDGEPROP_WORKERS)", { field: "workers.urls" });
    }
    const accepted = await this.#prepare(spec);
    await this.#checkFitsWorkers(spec, accepted.plan, urls);
    return accepted;
  }

  /**
   * The plan and dataset of a spec, checked against each other: what a stored job, accepted
   * before, needs to run again (its workers are settled when it runs: job-run.ts).
   */
  async #prepare(spec: JobSpec): Promise<AcceptedJob> {
    const plan = planModel(spec.model);
    let dataset: Dataset;
    try {
      dataset = await this.#registry.load(spec.dataset.id);
    } catch (error) {
      if (error instanceof UnknownDatasetError) throw new HttpError(400, "unknown_dataset", `'dataset.id': ${error.message}`, { field: "dataset.id" });
      throw error;
    }
    checkDataFits(dataset, spec, plan);
    return { spec, plan, dataset };
  }

  /**
   * A job whose smallest request (parameters and one chunk) is over its workers' body limit would
   * fail mid-job with a 413: refused here instead, naming both numbers. The limits are what the
   * healthy workers advertise (GET /v1/health), or the defaults while none has answered.
   */
  async #checkFitsWorkers(spec: JobSpec, plan: ModelPlan, urls: readonly string[]): Promise<void> {
    const capacity = (await this.#pools.shared(urls)).capacity();
    const limits = capacity.workers > 0 ? capacity.limits : DEFAULT_WORKER_LIMITS;
    const bytes = minRequestBytes(plan, spec.chunkSize);
    if (limits.maxBodyBytes !== undefined && bytes > limits.maxBodyBytes) {
      throw new ValidationError(
        "chunkSize",
        `Cannot accept job: its smallest request to a worker (${plan.parameterCount} parameters and one chunk of ${spec.chunkSize} examples) is ${bytes} bytes, more than the workers' maxBodyBytes of ${limits.maxBodyBytes} (GET /v1/health): use a smaller model or chunkSize`,
        "limit_exceeded",
      );
    }
  }

  /**
   * Trains a succeeded job further, to `epochs` epochs in all, from its last checkpoint: successive
   * halving (coordinator/studies/) promotes a trial this way instead of training it again from
   * scratch. The checkpoint holds the whole trainer state and no schedule depends on the total epoch
   * count (core/schedule.ts), so the job ends with the bits of one submitted with `epochs` from the
   * start; its metrics log keeps each epoch once, so what a job cost stays countable from its
   * record. The job keeps its id, its spec's `epochs` becomes `epochs`, and it resumes after a
   * crash like any job. Only a single-model job can be extended (an ensemble's finished members
   * would stay at the old budget). Throws HttpError: 404 no such job, 409 not extendable, 400
   * bad `epochs`.
   */
  async extend(id: string, epochs: number): Promise<JobRecord> {
    const job = await this.#extendable(id, ["succeeded"]);
    const spec = job.spec;
    if (!Number.isInteger(epochs) || epochs <= spec.epochs || epochs > DEFAULT_JOB_LIMITS.maxEpochs) {
      throw new HttpError(400, "invalid_field", `'epochs' must be an integer in (${spec.epochs}, ${DEFAULT_JOB_LIMITS.maxEpochs}] to extend job '${id}', current value is ${epochs}`, { field: "epochs" });
    }
    const bytes = await this.#store.getCheckpoint(id);
    if (!bytes) throw new HttpError(409, "conflict", `job '${id}' has no checkpoint to continue from`);
    return this.#restart(job, decodeCheckpoint(bytes, id), epochs);
  }

  /**
   * Trains a succeeded or cancelled job `more` epochs beyond the epochs its last checkpoint holds
   * (`POST /v1/jobs/:id/continue`): a checkpoint taken inside an epoch finishes that epoch as the
   * first of the `more`, and a job cancelled before any checkpoint starts over. Its `epochs`
   * becomes the new total, so with `deterministic` it ends with the bits of a job submitted with
   * that total. A job that stopped early is refused (409): it would stop again at once. Throws
   * HttpError as `extend` does.
   */
  async continue(id: string, more: unknown): Promise<JobRecord> {
    const job = await this.#extendable(id, ["succeeded", "cancelled"]);
    const max = DEFAULT_JOB_LIMITS.maxEpochs;
    const bytes = await this.#store.getCheckpoint(id);
    const checkpoint = bytes ? decodeCheckpoint(bytes, id) : null;
    const current = checkpoint?.state.current ?? null;
    if (current?.stopped) {
      throw new HttpError(409, "conflict", `job '${id}' stopped early at epoch ${current.epoch} (no dev improvement for ${job.spec.earlyStopping?.patience} epochs); continuing would stop again: submit it again with a larger earlyStopping.patience or without earlyStopping`);
    }
    const done = current?.epoch ?? 0;
    if (typeof more !== "number" || !Number.isInteger(more) || more < 1 || done + more > max) {
      throw new HttpError(400, "invalid_field", `'epochs' (how many more to train) must be an integer in [1, ${max - done}] for job '${id}' (${done} epochs done, at most ${max} in all), current value is ${JSON.stringify(more)}`, { field: "epochs" });
    }
    return this.#restart(job, checkpoint, done + more);
  }

  /** A stored job in one of `statuses`, not running, training a single model; else HttpError 404/409. */
  async #extendable(id: string, statuses: readonly JobRecord["status"][]): Promise<JobRecord> {
    const job = await this.#store.getJob(id);
    if (!job) throw new HttpError(404, "not_found", `job '${id}' does not exist`);
    if (this.#running.has(id) || !statuses.includes(job.status)) {
      throw new HttpError(409, "conflict", `job '${id}' is ${this.#running.has(id) ? "running" : job.status}; only a ${statuses.join(" or ")} job can be ${statuses.length > 1 ? "continued" : "extended"}`);
    }
    if (job.spec.ensemble.members !== 1) {
      throw new HttpError(409, "conflict", `job '${id}' trains an ensemble of ${job.spec.ensemble.members}; only a single model can be ${statuses.length > 1 ? "continued" : "extended"}`);
    }
    return job;
  }

  /** Queues `job` again from `checkpoint` (null: from the start) to `epochs` in all, keeping its id and history. */
  async #restart(job: JobRecord, checkpoint: Checkpoint | null, epochs: number): Promise<JobRecord> {
    const id = job.id;
    const spec = job.spec;
    const accepted = await this.#accept(parseJobSpec({ ...spec, epochs }));
    await this.#store.writeMetrics(id, (await this.#store.readMetrics(id)).slice(0, checkpoint?.metricsCount ?? 0));
    if (this.#running.has(id)) throw new HttpError(409, "conflict", `job '${id}' is already being continued`);
    const record: JobRecord = { ...job, status: "queued", spec: accepted.spec, finishedAt: null, progress: { ...job.progress, epochs } };
    await this.#store.putJob(record);
    this.events.reset(id);
    this.#start(record, accepted, checkpoint);
    return record;
  }

  /**
   * Resumes the jobs that were running (or queued) when the coordinator stopped. A job that cannot
   * be resumed (its checkpoint damaged beyond the previous one, its metrics log not writable) fails
   * with the reason; the others resume. Returns how many resumed.
   */
  async resumeAll(): Promise<number> {
    let resumed = 0;
    for (const job of await this.#store.listJobs()) {
      if (job.status !== "running" && job.status !== "queued") continue;
      let checkpoint: Checkpoint | null;
      let accepted: AcceptedJob;
      try {
        checkpoint = await this.#resumePoint(job.id);
        // The stored spec was valid when accepted; parsing it again checks what was read from disk.
        accepted = await this.#prepare(parseJobSpec(job.spec));
      } catch (error) {
        const message = `cannot resume: ${error instanceof Error ? error.message : String(error)}`;
        console.error(`coordinator: job ${job.id} ${message}`);
        await this.#fail(job, message);
        continue;
      }
      this.#start(job, accepted, checkpoint);
      resumed++;
    }
    return resumed;
  }

  /** A job's last checkpoint (null: start over), its metrics log cut back to that checkpoint. */
  async #resumePoint(id: string): Promise<Checkpoint | null> {
    const bytes = await this.#store.getCheckpoint(id);
    if (!bytes) {
      await this.#store.writeMetrics(id, []);
      return null;
    }
    const checkpoint = decodeCheckpoint(bytes, id);
    const metrics = await this.#store.readMetrics(id);
    await this.#store.writeMetrics(id, metrics.slice(0, checkpoint.metricsCount));
    return checkpoint;
  }

  /**
   * Records a job as failed with `message` and publishes the `failed` event. When the record cannot
   * be written (a full disk), the failed record is kept in memory and shown instead of the stored
   * one, which still says running: the next start resumes the job from its last checkpoint.
   */
  async #fail(job: JobRecord, message: string): Promise<JobRecord> {
    const failed: JobRecord = { ...job, status: "failed", finishedAt: new Date().toISOString(), error: message };
    try {
      await this.#store.putJob(failed);
      this.#unsaved.delete(job.id);
    } catch (error) {
      console.error(`coordinator: job ${job.id} failed (${message}) and its record could not be saved:`, error instanceof Error ? error.message : error);
      this.#unsaved.set(job.id, failed);
    }
    this.events.publish(job.id, "failed", { status: "failed", error: message });
    return failed;
  }

  async get(id: string): Promise<JobRecord | null> {
    return this.#running.get(id)?.record ?? this.#unsaved.get(id) ?? (await this.#store.getJob(id));
  }

  async list(): Promise<JobRecord[]> {
    const stored = await this.#store.listJobs();
    return stored.map((j) => this.#running.get(j.id)?.record ?? this.#unsaved.get(j.id) ?? j);
  }

  /**
   * A page of jobs, newest first (`GET /v1/jobs?limit=`). Timed ids sort by creation from their
   * folder names alone (job-id.ts), so only the page's records are read; ids of older versions are
   * ordered by their records, read only when a page reaches them.
   */
  async listPage(request: PageRequest): Promise<Page<JobRecord>> {
    const ids = await this.#store.listJobIds();
    const timed = ids.filter(isTimedJobId).sort().reverse();
    let untimed = ids.filter((id) => !isTimedJobId(id));
    const start = request.cursor === null ? 0 : timed.indexOf(request.cursor) + 1;
    if (untimed.length > 0 && ((start === 0 && request.cursor !== null) || start + request.limit > timed.length)) {
      const records = (await Promise.all(untimed.map((id) => this.get(id)))).filter((j): j is JobRecord => j !== null);
      untimed = newestFirst(records).map((j) => j.id);
    }
    const page = pageOfIds([...timed, ...untimed], request);
    const records = await Promise.all(page.items.map((id) => this.get(id)));
    return { items: records.filter((j): j is JobRecord => j !== null), nextCursor: page.nextCursor };
  }

  metrics(id: string): Promise<MetricsEntry[]> {
    return this.#store.readMetrics(id);
  }

  /** Stops a job; its last checkpoint stays. Returns the record, or null when there is no such job. */
  async cancel(id: string): Promise<JobRecord | null> {
    const running = this.#running.get(id);
    if (running) {
      running.controller.abort();
      await running.done;
      return this.#unsaved.get(id) ?? this.#store.getJob(id);
    }
    const job = await this.#store.getJob(id);
    if (!job) return null;
    if (job.status === "queued") {
      const cancelled = { ...job, status: "cancelled" as const, finishedAt: new Date().toISOString() };
      await this.#store.putJob(cancelled);
      return cancelled;
    }
    return job;
  }

  /** Waits until a job is no longer running (for tests and shutdown). */
  async settled(id: string): Promise<void> {
    await this.#running.get(id)?.done;
  }

  /** Stops every running job without marking it cancelled (a shutdown: they resume on restart). */
  async shutdown(): Promise<void> {
    for (const entry of this.#running.values()) entry.controller.abort("shutdown");
    await Promise.all([...this.#running.values()].map((e) => e.done));
    this.#pools.close();
  }

  /** A job's model: the trained artifact, or while it runs the model of its last checkpoint. */
  async model(id: string): Promise<ModelArtifact | null> {
    const snapshot = this.#running.get(id)?.snapshot;
    if (snapshot) return snapshot;
    const bytes = await this.#store.getModel(id);
    return bytes ? decodeArtifact(bytes) : null;
  }

  /** The MessagePack bytes of `model(id)`. */
  async modelBytes(id: string): Promise<Uint8Array | null> {
    const snapshot = this.#running.get(id)?.snapshot;
    if (snapshot) return encodeArtifact(snapshot);
    return this.#store.getModel(id);
  }

  /** The job's last checkpoint as MessagePack ({state, metricsCount}; job-run.ts), without the store's framing. */
  checkpointBytes(id: string): Promise<Uint8Array | null> {
    return this.#store.getCheckpoint(id);
  }

  /** Outputs and predicted classes of a trained model for raw (un-normalized) inputs. */
  async predict(id: string, inputs: unknown): Promise<{ outputs: number[][]; classes: (string | null)[] }> {
    const artifact = await this.model(id);
    if (!artifact) throw new HttpError(404, "not_found", `job '${id}' has no trained model (is it finished?)`);
    return predict(artifact, inputs);
  }

  #start(initial: JobRecord, job: AcceptedJob, checkpoint: Checkpoint | null): void {
    const entry: RunEntry & { done: Promise<void> } = { controller: new AbortController(), record: initial, snapshot: null, done: Promise.resolve() };
    this.#running.set(initial.id, entry);
    const context = { store: this.#store, events: this.events, pools: this.#pools, fail: (record: JobRecord, message: string) => this.#fail(record, message) };
    // runJob records every failure on the job; what escapes it is logged, never left to kill the process.
    entry.done = runJob(entry, job, checkpoint, context)
      .catch((error) => console.error(`coordinator: job ${initial.id} stopped unexpectedly:`, error))
      .finally(() => this.#running.delete(initial.id));
  }

  /** Starts the pool of the default workers (health checks), so /v1/workers reports them at once. */
  warm(): Promise<void> {
    return this.#pools.warm();
  }

  /** Status of every worker of every pool in use. */
  workers(): Promise<WorkerStatus[]> {
    return this.#pools.status();
  }
}
