/**
 * One job's run: the trainer on the job's pool, its events published, its record, metrics log and
 * checkpoints kept in the store, and the model artifact written when it succeeds. A failure of any
 * kind ends in the job's record (failed, with the reason), never in an exception.
 */
import type { Dataset } from "../../core/data/mod.ts";
import type { JobSpec } from "../../core/job/spec.ts";
import type { ModelPlan } from "../../core/model/spec.ts";
import { decode, encode } from "../../core/wire/codec.ts";
import type { JobRecord, JobStore } from "../store/job-store.ts";
import { prepareData } from "../training/prepared-data.ts";
import { type MetricsEntry, train, type TrainEvent, type TrainState } from "../training/trainer.ts";
import { TrainingError } from "../training/training-error.ts";
import type { JobEvents } from "./events.ts";
import { encodeArtifact, type ModelArtifact } from "./model-artifact.ts";
import type { PoolRegistry } from "./pool-registry.ts";

/** A job as accepted: its validated spec, its model plan and its dataset, each made once. */
export interface AcceptedJob {
  readonly spec: JobSpec;
  readonly plan: ModelPlan;
  readonly dataset: Dataset;
}

/** What a checkpoint file holds: the trainer's state and how many metrics entries precede it. */
export interface Checkpoint {
  readonly state: TrainState;
  readonly metricsCount: number;
}

export function encodeCheckpoint(checkpoint: Checkpoint): Uint8Array {
  return encode(checkpoint).slice();
}

/** Decodes a job's checkpoint file; throws a TypeError naming it when it is not a checkpoint. */
export function decodeCheckpoint(bytes: Uint8Array, id: string): Checkpoint {
  const checkpoint = decode(bytes) as Checkpoint;
  if (typeof checkpoint !== "object" || checkpoint === null || !Number.isSafeInteger(checkpoint.metricsCount) || typeof checkpoint.state !== "object") {
    throw new TypeError(`jobs/${id}/checkpoint.msgpack is damaged: it is not a checkpoint {state, metricsCount}`);
  }
  return checkpoint;
}

/** A job in this process: the controller that stops it and its latest record. */
export interface RunEntry {
  readonly controller: AbortController;
  record: JobRecord;
  /** The model as of the job's last checkpoint while it runs (null before the first). */
  snapshot: ModelArtifact | null;
}

/**
 * The model of a checkpoint: the finished ensemble members and the one in training with its
 * parameters so far, so that a running job's model can be downloaded, exported and used.
 */
function snapshotOf(state: TrainState, base: Omit<ModelArtifact, "members">): ModelArtifact {
  const members = state.finished.map((m) => ({ parameters: m.params, batchNorm: m.batchNorm }));
  if (state.current) members.push({ parameters: state.current.params, batchNorm: state.current.batchNorm });
  return { ...base, members };
}

export interface JobRunContext {
  readonly store: JobStore;
  readonly events: JobEvents;
  readonly pools: PoolRegistry;
  /** Records the job as failed with the message (and publishes `failed`); returns the record. */
  readonly fail: (record: JobRecord, message: string) => Promise<JobRecord>;
}

/** Runs a job to its end (succeeded, failed, cancelled, or stopped by a shutdown to resume later). */
export async function runJob(entry: RunEntry, job: AcceptedJob, checkpoint: Checkpoint | null, context: JobRunContext): Promise<void> {
  const { store, events, pools } = context;
  const { spec, plan, dataset } = job;
  const id = entry.record.id;
  const update = async (patch: Partial<JobRecord>, persist: boolean) => {
    entry.record = { ...entry.record, ...patch };
    if (persist) await store.putJob(entry.record);
  };
  let pending: MetricsEntry[] = [];
  let metricsCount = checkpoint?.metricsCount ?? 0;
  const flush = async () => {
    const batch = pending;
    pending = [];
    metricsCount += batch.length;
    await store.appendMetrics(id, batch);
  };
  try {
    // A spec that named no workers uses the coordinator's current defaults: after a restart those
    // are the new cluster's workers, not the (gone) ones recorded when the job was submitted.
    const workers = spec.workers.urls.length === 0 && pools.defaultWorkers.length > 0 ? pools.defaultWorkers : entry.record.workers;
    await update({ status: "running", startedAt: entry.record.startedAt ?? new Date().toISOString(), error: null, workers, earlyStopping: null }, true);
    const data = prepareData(dataset, spec, plan);
    const base = { spec, normalization: data.normalization, classNames: dataset.labels.kind === "classes" ? dataset.labels.classes : null };
    if (checkpoint) entry.snapshot = snapshotOf(checkpoint.state, base);
    const pool = await pools.forJob(workers, spec);
    if (pool.capacity().workers === 0) {
      throw new TrainingError(`no healthy worker among ${workers.join(", ")}`);
    }
    const emit = (event: TrainEvent) => {
      switch (event.type) {
        case "progress": {
          const { member, members, epoch, epochs, step, steps, rounds } = event;
          entry.record = { ...entry.record, progress: { member, members, epoch, epochs, step, steps, ...(rounds ? { rounds } : {}) } };
          events.publish(id, "progress", { ...entry.record.progress, communication: entry.record.communication });
          break;
        }
        case "communication":
          entry.record = { ...entry.record, communication: event.communication };
          break;
        case "metrics":
          pending.push(event.entry);
          events.publish(id, "metrics", event.entry);
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
          events.publish(id, "epoch", e);
          break;
        }
        case "checkpoint":
          events.publish(id, "checkpoint", { member: event.member, epoch: event.epoch, step: event.step });
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
        await store.putCheckpoint(id, encodeCheckpoint({ state, metricsCount }));
        await store.putJob(entry.record);
        entry.snapshot = snapshotOf(state, base);
      },
    });
    await flush();
    const artifact: ModelArtifact = { ...base, members: result.members.map((m) => ({ parameters: m.params, batchNorm: m.batchNorm })) };
    await store.putModel(id, encodeArtifact(artifact));
    const { metrics, diagnosis, earlyStopping } = result;
    await update({ status: "succeeded", finishedAt: new Date().toISOString(), metrics, diagnosis, earlyStopping }, true);
    events.publish(id, "done", { status: "succeeded", metrics, diagnosis, earlyStopping });
  } catch (error) {
    await flush().catch(() => {}); // a failing store fails the job below with its own error
    if (entry.controller.signal.aborted) {
      if (entry.controller.signal.reason === "shutdown") return; // resumes on restart
      try {
        await update({ status: "cancelled", finishedAt: new Date().toISOString() }, true);
        events.publish(id, "cancelled", { status: "cancelled" });
        return;
      } catch (saveError) {
        error = saveError; // the cancellation could not be recorded: fail with that instead
      }
    }
    const message = error instanceof Error ? error.message : String(error);
    entry.record = await context.fail(entry.record, message);
  }
}
