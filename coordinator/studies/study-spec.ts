/**
 * The study spec of `POST /v1/studies` (DESIGN.md, "Study spec"): validation with errors that name
 * the field and quote the value, and the defaults. Pure; the study manager then checks the base
 * spec against its dataset and every trial's job spec (trial.ts) before it creates any job.
 */
import { type JobSpec, parseJobSpec } from "../../core/job/spec.ts";
import type { CoarseToFineStrategy, GridStrategy, RandomStrategy, StrategySpec, StudyMetric, SuccessiveHalvingStrategy } from "../../core/job/study-api.ts";
import { type Space, validateSpace } from "../../core/search/mod.ts";
import { expectEnum, expectNumber, expectRecord, isRecord, show } from "../../core/validate.ts";
import { ValidationError } from "../../core/validation-error.ts";

export const STRATEGY_TYPES = ["grid", "random", "coarseToFine", "successiveHalving"] as const satisfies readonly StrategySpec["type"][];
export type StrategyType = (typeof STRATEGY_TYPES)[number];

/** Metrics a study can minimize: the final model's, from its job record. */
export const STUDY_METRICS = ["devError", "devLoss", "trainError", "trainLoss"] as const satisfies readonly StudyMetric[];
export type { StudyMetric };

export type { CoarseToFineStrategy, GridStrategy, RandomStrategy, StrategySpec, SuccessiveHalvingStrategy };

export interface StudySpec {
  readonly name: string;
  /** The base job spec, parsed (defaults filled in): every trial is it with the sampled values set. */
  readonly base: JobSpec;
  readonly space: Space;
  readonly strategy: StrategySpec;
  readonly metric: StudyMetric;
  /** Seed of the sampling (not of training: that is `base.seed`). */
  readonly seed: number;
}

/** Limits of a study (DESIGN.md, "Limits"): with the job spec's, they bound every list a study record keeps. */
export interface StudyLimits {
  /** Most trials (jobs) one study may create; also the most grid points. */
  readonly maxTrials: number;
  readonly maxConcurrency: number;
  /** Most dimensions (paths) in `space`. */
  readonly maxDimensions: number;
  /** Most values of one `choice` dimension. */
  readonly maxChoiceValues: number;
}

export const DEFAULT_STUDY_LIMITS: StudyLimits = { maxTrials: 1000, maxConcurrency: 64, maxDimensions: 32, maxChoiceValues: 256 };

/** Trials a study runs at once when its strategy does not say. */
export const DEFAULT_CONCURRENCY = 4;

const WHAT = "create study";
const TOP_FIELDS = ["name", "base", "space", "strategy", "metric", "seed"] as const;
const STRATEGY_FIELDS: Readonly<Record<StrategyType, readonly string[]>> = {
  grid: ["type", "points", "concurrency"],
  random: ["type", "trials", "concurrency"],
  coarseToFine: ["type", "rounds", "trialsPerRound", "keep", "concurrency"],
  successiveHalving: ["type", "trials", "minEpochs", "eta", "concurrency"],
};

/** A message of core's validators without its "Cannot …: " head, to put under the study's. */
function detail(error: Error): string {
  return error.message.replace(/^Cannot [^:]*: /, "");
}

/** A core validator's error under the study's head, its field under `parent` (`base.epochs`). */
function rethrow(error: unknown, prefix: string, parent: string): never {
  if (!(error instanceof ValidationError)) throw error;
  const field = error.field === undefined ? parent : `${parent}.${error.field}`;
  throw new ValidationError(field, `Cannot ${WHAT}: ${prefix}${detail(error)}`, error.code);
}

function required(raw: Record<string, unknown>, key: string, path: string, example: string): unknown {
  if (raw[key] === undefined) throw new ValidationError(path, `Cannot ${WHAT}: '${path}' is required (e.g. ${example})`);
  return raw[key];
}

/**
 * Validates a study spec (parsed JSON) and fills the defaults: `name` the base's name, `metric`
 * "devError" ("devLoss" when the base model's output is linear, which has no error rate), `seed` 0,
 * `concurrency` 4, coarse-to-fine `keep` min(3, trialsPerRound), successive-halving `minEpochs` 1
 * and `eta` 3. Budgets are required: grid `points` (≥ 2), random and successive-halving `trials`,
 * coarse-to-fine `rounds` and `trialsPerRound` (≥ 1); a study creates at most `maxTrials` jobs.
 * Successive halving needs `minEpochs` < `base.epochs` (the finalists' budget) and sets `epochs`
 * itself, so the space may not. An unknown field or strategy, a wrong type or a value out of range
 * throws a ValidationError naming the field, e.g. `Cannot create study: 'strategy.trials' must be
 * in [1, 1000], current value is 0` (field `strategy.trials`).
 */
export function parseStudySpec(value: unknown, limits: StudyLimits = DEFAULT_STUDY_LIMITS): StudySpec {
  const raw = expectRecord(value, "study", TOP_FIELDS, WHAT);
  const rawBase = required(raw, "base", "base", `{"dataset": {"id": "builtin:spirals"}, "model": {...}}`);
  if (!isRecord(rawBase)) throw new ValidationError("base", `Cannot ${WHAT}: 'base' must be a job spec object, current value is ${show(rawBase)}`);
  let base: JobSpec;
  try {
    base = parseJobSpec(rawBase);
  } catch (error) {
    rethrow(error, "'base' is not a valid job spec: ", "base");
  }
  const name = raw.name === undefined ? base.name.slice(0, 100) : raw.name;
  if (typeof name !== "string" || name.length === 0 || name.length > 100) {
    throw new ValidationError("name", `Cannot ${WHAT}: 'name' must be a string of 1 to 100 characters, current value is ${show(name)}`);
  }
  const rawSpace = required(raw, "space", "space", `{"optimizer.learningRate": {"type": "logUniform", "min": 1e-4, "max": 1}}`);
  if (isRecord(rawSpace)) checkSpaceSize(rawSpace, limits);
  let space: Space;
  try {
    space = validateSpace(rawSpace);
  } catch (error) {
    rethrow(error, "", "space");
  }
  const linear = base.model.output === "linear";
  const metric = raw.metric === undefined ? (linear ? "devLoss" : "devError") : expectEnum(raw.metric, "metric", WHAT, STUDY_METRICS);
  if (linear && metric.endsWith("Error")) {
    throw new ValidationError("metric", `Cannot ${WHAT}: 'metric' must be "devLoss" or "trainLoss" for a model with a linear output (it has no error rate), current value is ${show(metric)}`);
  }
  const seed = raw.seed === undefined ? 0 : expectNumber(raw.seed, "seed", WHAT, { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true });
  const strategy = parseStrategy(required(raw, "strategy", "strategy", `{"type": "random", "trials": 16}`), base, space, limits);
  return { name, base, space, strategy, metric, seed };
}

/** Bounds the lists of a space before they are validated one by one. */
function checkSpaceSize(space: Record<string, unknown>, limits: StudyLimits): void {
  const paths = Object.keys(space);
  if (paths.length > limits.maxDimensions) {
    throw new ValidationError("space", `Cannot ${WHAT}: 'space' has ${paths.length} dimensions, more than the limit of ${limits.maxDimensions}`, "limit_exceeded");
  }
  for (const path of paths) {
    const values = (space[path] as { values?: unknown } | null)?.values;
    if (Array.isArray(values) && values.length > limits.maxChoiceValues) {
      throw new ValidationError(`space.${path}.values`, `Cannot ${WHAT}: 'space["${path}"].values' has ${values.length} values, more than the limit of ${limits.maxChoiceValues}`, "limit_exceeded");
    }
  }
}

function parseStrategy(value: unknown, base: JobSpec, space: Space, limits: StudyLimits): StrategySpec {
  if (!isRecord(value)) throw new ValidationError("strategy", `Cannot ${WHAT}: 'strategy' must be an object with a 'type', current value is ${show(value)}`);
  const type = expectEnum(value.type, "strategy.type", WHAT, STRATEGY_TYPES);
  const s = expectRecord(value, "strategy", STRATEGY_FIELDS[type], WHAT);
  const int = (key: string, min: number, max: number, fallback?: number): number => {
    if (s[key] === undefined) {
      if (fallback === undefined) throw new ValidationError(`strategy.${key}`, `Cannot ${WHAT}: 'strategy.${key}' is required for ${type}`);
      return fallback;
    }
    return expectNumber(s[key], `strategy.${key}`, WHAT, { min, max, integer: true });
  };
  const concurrency = int("concurrency", 1, limits.maxConcurrency, DEFAULT_CONCURRENCY);
  const budget = (trials: number, how: string): void => {
    if (trials > limits.maxTrials) {
      throw new ValidationError("strategy", `Cannot ${WHAT}: 'strategy' asks for ${trials} trials (${how}), more than the limit of ${limits.maxTrials}`);
    }
  };
  switch (type) {
    case "grid": {
      const points = int("points", 2, limits.maxTrials);
      // The grid's size: all values of a choice, at most `points` for a numeric dimension (int
      // ranges may give fewer; gridSearch gives the exact count, checked again in initialTrials).
      const sizes = Object.values(space).map((d) => d.type === "choice" ? d.values.length : d.type === "int" ? Math.min(points, d.max - d.min + 1) : points);
      budget(sizes.reduce((a, b) => a * b, 1), `a grid of ${sizes.join(" × ")}`);
      return { type, points, concurrency };
    }
    case "random":
      return { type, trials: int("trials", 1, limits.maxTrials), concurrency };
    case "coarseToFine": {
      const rounds = int("rounds", 1, limits.maxTrials);
      const trialsPerRound = int("trialsPerRound", 1, limits.maxTrials);
      budget(rounds * trialsPerRound, `${rounds} rounds × ${trialsPerRound}`);
      const keep = int("keep", 1, trialsPerRound, Math.min(3, trialsPerRound));
      return { type, rounds, trialsPerRound, keep, concurrency };
    }
    case "successiveHalving": {
      const trials = int("trials", 1, limits.maxTrials);
      if (Object.hasOwn(space, "epochs")) {
        throw new ValidationError("space", `Cannot ${WHAT}: 'space' must not contain "epochs" with successiveHalving, which sets each trial's epochs itself (from 'strategy.minEpochs' up to 'base.epochs')`);
      }
      if (base.epochs < 2) {
        throw new ValidationError("base.epochs", `Cannot ${WHAT}: 'base.epochs' must be >= 2 with successiveHalving (it is the finalists' budget, above 'strategy.minEpochs'), current value is ${base.epochs}`);
      }
      const minEpochs = int("minEpochs", 1, Number.MAX_SAFE_INTEGER, 1);
      if (minEpochs >= base.epochs) {
        throw new ValidationError("strategy.minEpochs", `Cannot ${WHAT}: 'strategy.minEpochs' must be < 'base.epochs' (${base.epochs}, the finalists' budget), current value is ${minEpochs}`);
      }
      const eta = int("eta", 2, 100, 3);
      return { type, trials, minEpochs, eta, concurrency };
    }
  }
}
