/**
 * The job spec (DESIGN.md, "Job spec"): validation of every field with errors that name it, and
 * the documented defaults. Shared by the coordinator (which rejects a bad spec with a 400) and the
 * clients (which can check a spec before sending it).
 */
import type { SplitSpec } from "../data/split.ts";
import { DEFAULT_MODEL_LIMITS, type ModelLimits } from "../limits.ts";
import { parseModelSpec, type ModelSpec } from "../model/spec.ts";
import { type DistributionSpec, parseDistribution } from "./distribution.ts";
import { parseRegularization, type Regularization } from "../model/regularization.ts";
import { optimizer, type OptimizerSpec } from "../optim/from-spec.ts";
import { schedule, type ScheduleSpec } from "../schedule.ts";
import { expectEnum, expectNumber, expectRecord, isRecord, show } from "../validate.ts";
import { ValidationError } from "../validation-error.ts";

export type NormalizeKind = "standardize" | "minmax" | "none";

export interface AugmentSpec {
  readonly flipHorizontal: boolean;
  /** Largest random shift in pixels (0: none). */
  readonly shift: number;
  /** Standard deviation of additive Gaussian noise (0: none). */
  readonly noise: number;
}

export interface DatasetRef {
  readonly id: string;
  readonly split: SplitSpec;
  readonly normalize: NormalizeKind;
  readonly augment: AugmentSpec | null;
}

export interface EarlyStoppingSpec {
  readonly metric: "devLoss" | "devError";
  readonly patience: number;
  readonly minDelta: number;
  readonly restoreBest: boolean;
}

export interface WorkersSpec {
  /** Worker URLs; empty means the coordinator's default pool. */
  readonly urls: readonly string[];
  readonly backend: "wasm" | "webgpu" | "cpu";
  readonly timeoutMs: number;
  readonly retries: number;
}

export interface JobSpec {
  readonly name: string;
  readonly dataset: DatasetRef;
  readonly model: ModelSpec;
  readonly regularization: Regularization;
  readonly optimizer: OptimizerSpec;
  readonly schedule: ScheduleSpec;
  readonly batchSize: number;
  readonly epochs: number;
  readonly chunkSize: number;
  readonly earlyStopping: EarlyStoppingSpec | null;
  readonly workers: WorkersSpec;
  readonly seed: number;
  readonly deterministic: boolean;
  readonly ensemble: { readonly members: number };
  /** Human-level (Bayes proxy) error for the bias/variance diagnosis, in [0, 1]. */
  readonly humanError: number;
  /** Checkpoint every N steps as well as after every epoch (0: only after epochs). */
  readonly checkpointEvery: number;
  /** Synchronous steps (default) or local-step rounds (distribution.ts). */
  readonly distribution: DistributionSpec;
}

/**
 * Limits of a job beyond the model's (DESIGN.md, "Limits"). Every list in a spec is bounded, so a
 * stored job record stays small whatever a client sends: a manual schedule has at most `maxEpochs`
 * entries (epochs strictly increase from 0, so a later one could never apply; not the job's own
 * `epochs`, because an extended job or a successive-halving finalist trains longer with the same
 * schedule), `workers.urls` at most `maxWorkerUrls`.
 */
export interface JobLimits extends ModelLimits {
  readonly maxEpochs: number;
  readonly maxBatchSize: number;
  readonly maxEnsembleMembers: number;
  readonly maxWorkerUrls: number;
}

export const DEFAULT_JOB_LIMITS: JobLimits = {
  ...DEFAULT_MODEL_LIMITS,
  maxEpochs: 10_000,
  maxBatchSize: 65_536,
  maxEnsembleMembers: 16,
  maxWorkerUrls: 256,
};

const WHAT = "accept job";
const TOP_FIELDS = [
  "name", "dataset", "model", "regularization", "optimizer", "schedule", "batchSize", "epochs", "chunkSize",
  "earlyStopping", "workers", "seed", "deterministic", "ensemble", "humanError", "checkpointEvery", "distribution",
] as const;

/**
 * Validates a job spec (parsed JSON) and fills the defaults: `name` "job", `dataset.split`
 * "auto", `dataset.normalize` "standardize", `regularization` none, `optimizer` Adam (α 1e-3),
 * `schedule` constant, `batchSize` 64, `epochs` 10, `chunkSize` 32, no early stopping, workers
 * from the coordinator (`backend` wasm, `timeoutMs` 10000, `retries` 3), `seed` 42,
 * `deterministic` true, one ensemble member, `humanError` 0, `checkpointEvery` 0. An unknown field,
 * a wrong type or an out-of-range value throws a ValidationError naming the field.
 */
export function parseJobSpec(value: unknown, limits: JobLimits = DEFAULT_JOB_LIMITS): JobSpec {
  const raw = expectRecord(value, "job", TOP_FIELDS, WHAT);
  const name = raw.name === undefined ? "job" : expectString(raw.name, "name", 1, 200);
  if (raw.dataset === undefined) throw new ValidationError("dataset", `Cannot ${WHAT}: 'dataset' is required (e.g. {"id": "builtin:mnist"})`);
  const dataset = parseDataset(raw.dataset);
  if (raw.model === undefined) throw new ValidationError("model", `Cannot ${WHAT}: 'model' is required`);
  const model = parseModelSpec(raw.model, { path: "model", limits });
  const regularization = parseRegularization(raw.regularization);

  const optimizerSpec = (raw.optimizer ?? { type: "adam", learningRate: 1e-3 }) as OptimizerSpec;
  try {
    optimizer(optimizerSpec); // validates
  } catch (error) {
    // The optimizer's factories name their own fields ('beta1'); in a job they are under `optimizer`.
    if (error instanceof ValidationError && error.field !== undefined && !error.field.startsWith("optimizer")) {
      throw new ValidationError(`optimizer.${error.field}`, error.message, error.code);
    }
    throw error;
  }
  if (!isRecord(optimizerSpec) || typeof optimizerSpec.learningRate !== "number") {
    throw new ValidationError("optimizer.learningRate", `Cannot ${WHAT}: 'optimizer.learningRate' must be a finite number, current value is ${show((optimizerSpec as { learningRate?: unknown }).learningRate)}`);
  }
  const scheduleSpec = (raw.schedule ?? { type: "constant" }) as ScheduleSpec;
  const rates = isRecord(scheduleSpec) && scheduleSpec.type === "manual" ? (scheduleSpec as { rates?: unknown }).rates : undefined;
  if (Array.isArray(rates) && rates.length > limits.maxEpochs) {
    throw new ValidationError("schedule.rates", `Cannot ${WHAT}: 'schedule.rates' has ${rates.length} entries, more than the limit of ${limits.maxEpochs} (one per epoch at most)`, "limit_exceeded");
  }
  schedule(scheduleSpec, optimizerSpec.learningRate); // validates, naming `schedule.*`

  const batchSize = raw.batchSize === undefined ? 64 : expectNumber(raw.batchSize, "batchSize", WHAT, { min: 1, max: limits.maxBatchSize, integer: true });
  const epochs = raw.epochs === undefined ? 10 : expectNumber(raw.epochs, "epochs", WHAT, { min: 1, max: limits.maxEpochs, integer: true });
  const chunkSize = raw.chunkSize === undefined ? 32 : expectNumber(raw.chunkSize, "chunkSize", WHAT, { min: 1, max: limits.maxBatchSize, integer: true });

  let earlyStopping: EarlyStoppingSpec | null = null;
  if (raw.earlyStopping !== undefined && raw.earlyStopping !== null) {
    const e = expectRecord(raw.earlyStopping, "earlyStopping", ["metric", "patience", "minDelta", "restoreBest"], WHAT);
    earlyStopping = {
      metric: e.metric === undefined ? "devLoss" : expectEnum(e.metric, "earlyStopping.metric", WHAT, ["devLoss", "devError"] as const),
      patience: e.patience === undefined ? 3 : expectNumber(e.patience, "earlyStopping.patience", WHAT, { min: 0, max: limits.maxEpochs, integer: true }),
      minDelta: e.minDelta === undefined ? 0 : expectNumber(e.minDelta, "earlyStopping.minDelta", WHAT, { min: 0 }),
      restoreBest: e.restoreBest === undefined ? true : expectBoolean(e.restoreBest, "earlyStopping.restoreBest"),
    };
  }

  const workers = parseWorkers(raw.workers, limits);
  const seed = raw.seed === undefined ? 42 : expectNumber(raw.seed, "seed", WHAT, { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true });
  const deterministic = raw.deterministic === undefined ? true : expectBoolean(raw.deterministic, "deterministic");
  let members = 1;
  if (raw.ensemble !== undefined) {
    const e = expectRecord(raw.ensemble, "ensemble", ["members"], WHAT);
    members = expectNumber(e.members, "ensemble.members", WHAT, { min: 1, max: limits.maxEnsembleMembers, integer: true });
  }
  const humanError = raw.humanError === undefined ? 0 : expectNumber(raw.humanError, "humanError", WHAT, { min: 0, max: 1 });
  const checkpointEvery = raw.checkpointEvery === undefined ? 0 : expectNumber(raw.checkpointEvery, "checkpointEvery", WHAT, { min: 0, integer: true });
  const distribution = parseDistribution(raw.distribution, batchSize);

  return {
    name, dataset, model, regularization, optimizer: optimizerSpec, schedule: scheduleSpec, batchSize, epochs, chunkSize,
    earlyStopping, workers, seed, deterministic, ensemble: { members }, humanError, checkpointEvery, distribution,
  };
}

function parseDataset(value: unknown): DatasetRef {
  const raw = expectRecord(value, "dataset", ["id", "split", "normalize", "augment"], WHAT);
  const id = expectString(raw.id, "dataset.id", 1, 200);
  let split: SplitSpec = "auto";
  if (raw.split !== undefined && raw.split !== "auto") {
    if (typeof raw.split === "string") {
      throw new ValidationError("dataset.split", `Cannot ${WHAT}: 'dataset.split' must be "auto" or {train, dev, test} fractions, current value is ${show(raw.split)}`);
    }
    const s = expectRecord(raw.split, "dataset.split", ["train", "dev", "test"], WHAT);
    const train = expectNumber(s.train, "dataset.split.train", WHAT, { min: 0, minExclusive: true, max: 1 });
    const dev = expectNumber(s.dev ?? 0, "dataset.split.dev", WHAT, { min: 0, max: 1 });
    const test = expectNumber(s.test ?? 0, "dataset.split.test", WHAT, { min: 0, max: 1 });
    if (Math.abs(train + dev + test - 1) > 1e-9) {
      throw new ValidationError("dataset.split", `Cannot ${WHAT}: 'dataset.split' fractions must sum to 1, current sum is ${Number((train + dev + test).toPrecision(12))}`);
    }
    split = { train, dev, test };
  }
  const normalize = raw.normalize === undefined ? "standardize" : expectEnum(raw.normalize, "dataset.normalize", WHAT, ["standardize", "minmax", "none"] as const);
  let augment: AugmentSpec | null = null;
  if (raw.augment !== undefined && raw.augment !== null) {
    const a = expectRecord(raw.augment, "dataset.augment", ["flipHorizontal", "shift", "noise"], WHAT);
    augment = {
      flipHorizontal: a.flipHorizontal === undefined ? false : expectBoolean(a.flipHorizontal, "dataset.augment.flipHorizontal"),
      shift: a.shift === undefined ? 0 : expectNumber(a.shift, "dataset.augment.shift", WHAT, { min: 0, max: 64, integer: true }),
      noise: a.noise === undefined ? 0 : expectNumber(a.noise, "dataset.augment.noise", WHAT, { min: 0, max: 10 }),
    };
  }
  return { id, split, normalize, augment };
}

function parseWorkers(value: unknown, limits: JobLimits): WorkersSpec {
  const defaults: WorkersSpec = { urls: [], backend: "wasm", timeoutMs: 10_000, retries: 3 };
  if (value === undefined) return defaults;
  const raw = expectRecord(value, "workers", ["urls", "backend", "timeoutMs", "retries"], WHAT);
  let urls: string[] = [];
  if (raw.urls !== undefined) {
    if (!Array.isArray(raw.urls)) throw new ValidationError("workers.urls", `Cannot ${WHAT}: 'workers.urls' must be an array of URLs, current value is ${show(raw.urls)}`);
    if (raw.urls.length > limits.maxWorkerUrls) {
      throw new ValidationError("workers.urls", `Cannot ${WHAT}: 'workers.urls' has ${raw.urls.length} entries, more than the limit of ${limits.maxWorkerUrls}`, "limit_exceeded");
    }
    urls = raw.urls.map((u, i) => {
      const s = expectString(u, `workers.urls[${i}]`, 1, 2048);
      let url: URL;
      try {
        url = new URL(s);
      } catch {
        throw new ValidationError(`workers.urls[${i}]`, `Cannot ${WHAT}: 'workers.urls[${i}]' must be an http(s) URL, current value is ${show(s)}`);
      }
      if (url.protocol !== "http:" && url.protocol !== "https:") {
        throw new ValidationError(`workers.urls[${i}]`, `Cannot ${WHAT}: 'workers.urls[${i}]' must be an http(s) URL, current value is ${show(s)}`);
      }
      return s.replace(/\/+$/, "");
    });
  }
  return {
    urls,
    backend: raw.backend === undefined ? "wasm" : expectEnum(raw.backend, "workers.backend", WHAT, ["wasm", "webgpu", "cpu"] as const),
    timeoutMs: raw.timeoutMs === undefined ? defaults.timeoutMs : expectNumber(raw.timeoutMs, "workers.timeoutMs", WHAT, { min: 100, max: 3_600_000, integer: true }),
    retries: raw.retries === undefined ? defaults.retries : expectNumber(raw.retries, "workers.retries", WHAT, { min: 0, max: 100, integer: true }),
  };
}

function expectString(value: unknown, path: string, min: number, max: number): string {
  if (typeof value !== "string") throw new ValidationError(path, `Cannot ${WHAT}: '${path}' must be a string, current value is ${show(value)}`);
  if (value.length < min || value.length > max) {
    throw new ValidationError(path, `Cannot ${WHAT}: '${path}' must have ${min} to ${max} characters, current length is ${value.length}`);
  }
  return value;
}

function expectBoolean(value: unknown, path: string): boolean {
  if (typeof value !== "boolean") throw new ValidationError(path, `Cannot ${WHAT}: '${path}' must be true or false, current value is ${show(value)}`);
  return value;
}
