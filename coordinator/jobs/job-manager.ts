/**
 * Jobs from submission to artifact: validates a spec (a 400 before anything runs), runs the
 * trainer on a worker pool, publishes events, keeps the record and checkpoints in the store, and on
 * start resumes every job a killed coordinator left running.
 */
import { normalizeFeatures, type Normalization } from "../../core/data/mod.ts";
import { HttpError } from "../../core/http/http-error.ts";
import { averageOutputs } from "../../core/ensemble.ts";
import { DEFAULT_JOB_LIMITS, type JobSpec, parseJobSpec } from "../../core/job/spec.ts";
import { predictedClass } from "../../core/metrics.ts";
import { evaluate } from "../../core/model/engine.ts";
import type { Tensors } from "../../core/model/parameters.ts";
import { planModel, type ModelPlan } from "../../core/model/spec.ts";
import { decode, encode } from "../../core/wire/codec.ts";
import { DatasetRegistry, UnknownDatasetError } from "../datasets/registry.ts";
import { HttpPool } from "../pool/http-pool.ts";
import type { WorkerPool } from "../pool/worker-pool.ts";
import type { JobRecord, JobStore } from "../store/job-store.ts";
import { checkDataFits, prepareData } from "../training/prepared-data.ts";
import { type MetricsEntry, train, type TrainEvent, TrainingError, type TrainState } from "../training/trainer.ts";
import { newestFirst, type Page, type PageRequest, pageOfIds } from "../paging.ts";
import { DEFAULT_WORKER_LIMITS } from "../../core/limits.ts";
import { ValidationError } from "../../core/validation-error.ts";
import { minRequestBytes } from "../training/shard-plan.ts";
import { JobEvents } from "./events.ts";
import { isTimedJobId, newJobId } from "./job-id.ts";

export interface JobManagerOptions {
  readonly store: JobStore;
  readonly registry: DatasetRegistry;
  /** Workers for jobs whose spec names none. */
  readonly defaultWorkers: readonly string[];
  readonly workerSecret?: string;
  /** Builds the shared pool of a worker list (default: an HttpPool); tests pass an in-process one. */
  readonly createPool?: (urls: readonly string[]) => Promise<WorkerPool>;
}

interface ModelArtifact {
  readonly spec: JobSpec;
  readonly members: readonly { readonly parameters: Tensors; readonly batchNorm: Tensors }[];
  readonly normalization: Normalization | null;
  readonly classNames: readonly string[] | null;
}

interface Checkpoint {
  readonly state: TrainState;
  readonly metricsCount: number;
}

const EMPTY_METRICS = { trainLoss: null, trainError: null, devLoss: null, devError: null, testLoss: null, testError: null };

export class JobManager {
  readonly events = new JobEvents();
  readonly #store: JobStore;
  readonly #registry: DatasetRegistry;
  readonly #options: JobManagerOptions;
  readonly #running = new Map<string, { controller: AbortController; record: JobRecord; done: Promise<void> }>();
  readonly #pools = new Map<string, Promise<WorkerPool>>();
  /** Records of jobs that ended (failed) but could not be written (a full disk): shown instead of the stale stored one. */
  readonly #unsaved = new Map<string, JobRecord>();

  constructor(options: JobManagerOptions) {
    this.#store = options.store;
    this.#registry = options.registry;
    this.#options = options;
  }

  /** Validates and queues a job; throws a ValidationError or HttpError (400) naming the problem. */
  async submit(raw: unknown, extra: { studyId?: string } = {}): Promise<JobRecord> {
    const { spec, urls } = await this.#check(raw);
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
      workers: urls,
      studyId: extra.studyId ?? null,
      bestDev: null,
    };
    await this.#store.putJob(record);
    this.#start(record, null);
    return record;
  }

  /**
   * Everything `submit` checks, without queueing anything: a study validates its base spec this way
   * before it creates any trial. Returns the parsed spec; throws as `submit` does.
   */
  async validate(raw: unknown): Promise<JobSpec> {
    return (await this.#check(raw)).spec;
  }

  async #check(raw: unknown): Promise<{ spec: JobSpec; urls: readonly string[] }> {
    const spec = parseJobSpec(raw);
    const urls = spec.workers.urls.length ? spec.workers.urls : this.#options.defaultWorkers;
    if (urls.length === 0) {
      throw new HttpError(400, "no_workers", "'workers.urls' is empty and the coordinator has no default workers (start it with --workers or EDGEPROP_WORKERS)", { field: "workers.urls" });
    }
    const plan = planModel(spec.model);
    try {
      checkDataFits(await this.#registry.load(spec.dataset.id), spec, plan);
    } catch (error) {
      if (error instanceof UnknownDatasetError) throw new HttpError(400, "unknown_dataset", `'dataset.id': ${error.message}`, { field: "dataset.id" });
      throw error;
    }
    await this.#checkFitsWorkers(spec, plan, urls);
    return { spec, urls };
  }

  /**
   * A job whose smallest request (parameters and one chunk) is over its workers' body limit would
   * fail mid-job with a 413: refused here instead, naming both numbers. The limits are what the
   * healthy workers advertise (GET /v1/health), or the defaults while none has answered.
   */
  async #checkFitsWorkers(spec: JobSpec, plan: ModelPlan, urls: readonly string[]): Promise<void> {
    const capacity = (await this.#shared(urls)).capacity();
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
    const job = await this.#store.getJob(id);
    if (!job) throw new HttpError(404, "not_found", `job '${id}' does not exist`);
    if (this.#running.has(id) || job.status !== "succeeded") {
      throw new HttpError(409, "conflict", `job '${id}' is ${job.status}; only a succeeded job can be extended`);
    }
    const spec = parseJobSpec(job.spec);
    if (spec.ensemble.members !== 1) {
      throw new HttpError(409, "conflict", `job '${id}' trains an ensemble of ${spec.ensemble.members}; only a single model can be extended`);
    }
    if (!Number.isInteger(epochs) || epochs <= spec.epochs || epochs > DEFAULT_JOB_LIMITS.maxEpochs) {
      throw new HttpError(400, "invalid_field", `'epochs' must be an integer in (${spec.epochs}, ${DEFAULT_JOB_LIMITS.maxEpochs}] to extend job '${id}', current value is ${epochs}`, { field: "epochs" });
    }
    const bytes = await this.#store.getCheckpoint(id);
    if (!bytes) throw new HttpError(409, "conflict", `job '${id}' has no checkpoint to continue from`);
    const checkpoint = decode(bytes) as Checkpoint;
    await this.#store.writeMetrics(id, (await this.#store.readMetrics(id)).slice(0, checkpoint.metricsCount));
    if (this.#running.has(id)) throw new HttpError(409, "conflict", `job '${id}' is already being extended`);
    const record: JobRecord = { ...job, status: "queued", spec: { ...spec, epochs }, finishedAt: null, progress: { ...job.progress, epochs } };
    await this.#store.putJob(record);
    this.events.reset(id);
    this.#start(record, checkpoint);
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
      try {
        checkpoint = await this.#resumePoint(job.id);
      } catch (error) {
        const message = `cannot resume: ${error instanceof Error ? error.message : String(error)}`;
        console.error(`coordinator: job ${job.id} ${message}`);
        await this.#fail(job, message);
        continue;
      }
      this.#start(job, checkpoint);
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
    const checkpoint = decode(bytes) as Checkpoint;
    if (typeof checkpoint !== "object" || checkpoint === null || !Number.isSafeInteger(checkpoint.metricsCount) || typeof checkpoint.state !== "object") {
      throw new TypeError(`jobs/${id}/checkpoint.msgpack is damaged: it is not a checkpoint {state, metricsCount}`);
    }
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
    for (const pool of this.#pools.values()) void pool.then((p) => (p as { close?: () => void }).close?.());
  }

  async model(id: string): Promise<ModelArtifact | null> {
    const bytes = await this.#store.getModel(id);
    return bytes ? (decode(bytes) as ModelArtifact) : null;
  }

  async modelBytes(id: string): Promise<Uint8Array | null> {
    return this.#store.getModel(id);
  }

  /** Outputs and predicted classes of a trained model for raw (un-normalized) inputs. */
  async predict(id: string, inputs: unknown): Promise<{ outputs: number[][]; classes: (string | null)[] }> {
    const artifact = await this.model(id);
    if (!artifact) throw new HttpError(404, "not_found", `job '${id}' has no trained model (is it finished?)`);
    const plan = planModel(artifact.spec.model);
    const n = plan.inputSize;
    if (!Array.isArray(inputs) || inputs.length === 0 || inputs.length > 65_536) {
      throw new HttpError(400, "invalid_field", "'inputs' must be a non-empty array of at most 65536 rows", { field: "inputs" });
    }
    const m = inputs.length;
    const x = new Float32Array(m * n);
    inputs.forEach((row, i) => {
      if (!Array.isArray(row) || row.length !== n) throw new HttpError(400, "invalid_field", `'inputs[${i}]' must be an array of ${n} numbers`, { field: `inputs[${i}]` });
      row.forEach((v, j) => {
        if (typeof v !== "number" || !Number.isFinite(v)) throw new HttpError(400, "invalid_field", `'inputs[${i}][${j}]' must be a finite number, current value is ${JSON.stringify(v)}`, { field: `inputs[${i}][${j}]` });
        x[i * n + j] = v;
      });
    });
    const normalized = artifact.normalization ? normalizeFeatures(x, artifact.normalization) : x;
    const outputs = await predictOutputs(plan, artifact, normalized, m);
    const K = plan.outputs;
    const rows: number[][] = [];
    const classes: (string | null)[] = [];
    for (let i = 0; i < m; i++) {
      const row = Array.from(outputs.subarray(i * K, i * K + K));
      rows.push(row);
      const names = plan.spec.output === "linear" ? null : artifact.classNames;
      const c = names ? predictedClass(outputs, i, K) : -1;
      classes.push(names && c >= 0 ? (names[c] ?? null) : null); // c = -1: a NaN row has no class
    }
    return { outputs: rows, classes };
  }

  #start(initial: JobRecord, checkpoint: Checkpoint | null): void {
    const controller = new AbortController();
    const entry = { controller, record: initial, done: Promise.resolve() };
    this.#running.set(initial.id, entry);
    // #run records every failure on the job; what escapes it is logged, never left to kill the process.
    entry.done = this.#run(entry, checkpoint)
      .catch((error) => console.error(`coordinator: job ${initial.id} stopped unexpectedly:`, error))
      .finally(() => this.#running.delete(initial.id));
  }

  async #run(entry: { controller: AbortController; record: JobRecord }, checkpoint: Checkpoint | null): Promise<void> {
    const id = entry.record.id;
    const spec = parseJobSpec(entry.record.spec);
    const update = async (patch: Partial<JobRecord>, persist: boolean) => {
      entry.record = { ...entry.record, ...patch };
      if (persist) await this.#store.putJob(entry.record);
    };
    let pending: MetricsEntry[] = [];
    let metricsCount = checkpoint?.metricsCount ?? 0;
    const flush = async () => {
      const batch = pending;
      pending = [];
      metricsCount += batch.length;
      await this.#store.appendMetrics(id, batch);
    };
    try {
      // A spec that named no workers uses the coordinator's current defaults: after a restart those
      // are the new cluster's workers, not the (gone) ones recorded when the job was submitted.
      const defaults = this.#options.defaultWorkers;
      const workers = spec.workers.urls.length === 0 && defaults.length > 0 ? defaults : entry.record.workers;
      await update({ status: "running", startedAt: entry.record.startedAt ?? new Date().toISOString(), error: null, workers }, true);
      const plan = planModel(spec.model);
      const dataset = await this.#registry.load(spec.dataset.id);
      const data = prepareData(dataset, spec, plan);
      const pool = await this.#pool(entry.record.workers, spec);
      if (pool.capacity().workers === 0) {
        throw new TrainingError(`no healthy worker among ${entry.record.workers.join(", ")}`);
      }
      const emit = (event: TrainEvent) => {
        switch (event.type) {
          case "progress": {
            const { member, members, epoch, epochs, step, steps } = event;
            entry.record = { ...entry.record, progress: { member, members, epoch, epochs, step, steps } };
            this.events.publish(id, "progress", { ...entry.record.progress });
            break;
          }
          case "metrics":
            pending.push(event.entry);
            this.events.publish(id, "metrics", event.entry);
            break;
          case "epoch": {
            pending.push(event.entry);
            const e = event.entry;
            const dev = e.devError ?? e.devLoss;
            const bestDev = dev === null ? entry.record.bestDev : entry.record.bestDev === null ? dev : Math.min(entry.record.bestDev, dev);
            entry.record = {
              ...entry.record,
              metrics: { ...entry.record.metrics, trainLoss: e.trainLoss, trainError: e.trainError, devLoss: e.devLoss, devError: e.devError },
              throughput: { examplesPerSecond: e.examplesPerSecond },
              timing: { stepMs: e.stepMs, breakdown: e.breakdown },
              bestDev,
            };
            this.events.publish(id, "epoch", e);
            break;
          }
          case "checkpoint":
            this.events.publish(id, "checkpoint", { member: event.member, epoch: event.epoch, step: event.step });
            break;
        }
      };
      const result = await train({
        spec,
        plan,
        data,
        pool,
        signal: entry.controller.signal,
        emit,
        resume: checkpoint?.state ?? null,
        checkpoint: async (state) => {
          await flush();
          await this.#store.putCheckpoint(id, encode({ state, metricsCount } satisfies Checkpoint).slice());
          await this.#store.putJob(entry.record);
        },
      });
      await flush();
      const labels = dataset.labels;
      const artifact: ModelArtifact = {
        spec,
        members: result.members.map((m) => ({ parameters: m.params, batchNorm: m.batchNorm })),
        normalization: data.normalization,
        classNames: labels.kind === "classes" ? labels.classes : null,
      };
      await this.#store.putModel(id, encode(artifact).slice());
      await update({ status: "succeeded", finishedAt: new Date().toISOString(), metrics: result.metrics, diagnosis: result.diagnosis }, true);
      this.events.publish(id, "done", { status: "succeeded", metrics: result.metrics, diagnosis: result.diagnosis });
    } catch (error) {
      await flush().catch(() => {}); // a failing store fails the job below with its own error
      if (entry.controller.signal.aborted) {
        if (entry.controller.signal.reason === "shutdown") return; // resumes on restart
        try {
          await update({ status: "cancelled", finishedAt: new Date().toISOString() }, true);
          this.events.publish(id, "cancelled", { status: "cancelled" });
          return;
        } catch (saveError) {
          error = saveError; // the cancellation could not be recorded: fail with that instead
        }
      }
      const message = error instanceof Error ? error.message : String(error);
      entry.record = await this.#fail(entry.record, message);
    }
  }

  /**
   * A job's pool: one pool per set of URLs, shared by the jobs on it (health, slots, and their
   * queue), seen through the job's own `workers.timeoutMs` and `workers.retries`.
   */
  async #pool(urls: readonly string[], spec: JobSpec): Promise<WorkerPool> {
    return (await this.#shared(urls)).forJob({ timeoutMs: spec.workers.timeoutMs, retries: spec.workers.retries });
  }

  #shared(urls: readonly string[]): Promise<WorkerPool> {
    const key = [...urls].sort().join(" ");
    let pool = this.#pools.get(key);
    if (!pool) {
      pool = this.#options.createPool
        ? this.#options.createPool(urls)
        : (async () => {
          const p = new HttpPool(urls, { secret: this.#options.workerSecret });
          await p.start();
          return p;
        })();
      this.#pools.set(key, pool);
    }
    return pool;
  }

  /** Starts the pool of the default workers (health checks), so /v1/workers reports them at once. */
  async warm(): Promise<void> {
    if (this.#options.defaultWorkers.length === 0) return;
    await this.#shared(this.#options.defaultWorkers);
  }

  /** Status of every worker of every pool in use. */
  async workers() {
    const pools = await Promise.all(this.#pools.values());
    const seen = new Map<string, ReturnType<WorkerPool["status"]>[number]>();
    for (const pool of pools) for (const s of pool.status()) seen.set(s.url, s);
    for (const url of this.#options.defaultWorkers) {
      if (!seen.has(url)) seen.set(url, { url, runtime: null, backend: null, healthy: false, latencyMs: null, failures: 0, inFlight: 0, hedged: 0, error: "not checked yet" });
    }
    return [...seen.values()];
  }
}

async function predictOutputs(plan: ModelPlan, artifact: ModelArtifact, inputs: Float32Array, m: number): Promise<Float32Array> {
  const labels = plan.spec.output === "linear" ? new Float32Array(m * plan.outputs) : new Int32Array(m);
  const batch = { inputs, labels, indices: new Int32Array(m) };
  const outputs: Float32Array[] = [];
  for (const member of artifact.members) {
    const r = await evaluate(plan, member.parameters, member.batchNorm, batch, { chunkSize: artifact.spec.chunkSize, outputs: true });
    outputs.push(r.outputs!);
  }
  return outputs.length === 1 ? outputs[0] : averageOutputs(outputs);
}
