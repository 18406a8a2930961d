/**
 * The `distribution` field of a job spec (DESIGN.md, "Local-step rounds"): how a step's work is
 * spread over workers. `sync` (the default) computes every step's gradient over the whole batch
 * and applies the optimizer centrally; `local` runs K logical replicas for H inner steps each
 * between two synchronizations (DiLoCo: Douillard et al. 2023, arXiv 2311.08105), and an outer
 * optimizer applies the average of their pseudo-gradients Δᵣ = θ − θᵣ.
 */
import { expectEnum, expectNumber, expectRecord } from "../validate.ts";
import { ValidationError } from "../validation-error.ts";

export type OuterType = "nesterov" | "sgd" | "momentum" | "adam";

/** The outer optimizer, applied to the averaged pseudo-gradient Δ̄ once per round. */
export interface OuterSpec {
  readonly type: OuterType;
  readonly learningRate: number;
  /** Momentum μ (nesterov, momentum) or Adam's β1; 0 for sgd. */
  readonly momentum: number;
}

export type DistributionSpec =
  | { readonly mode: "sync" }
  | {
    readonly mode: "local";
    /** Logical replicas K: part of the job, not of the pool. */
    readonly replicas: number;
    /** Inner steps H per round. */
    readonly innerSteps: number;
    /** Whether a replica's inner optimizer state carries over to its next round. */
    readonly innerState: "keep" | "reset";
    readonly outer: OuterSpec;
  };

/** Most logical replicas of a job. */
export const MAX_REPLICAS = 256;
/** Most inner steps of a round. */
export const MAX_INNER_STEPS = 100_000;

export const SYNC: DistributionSpec = { mode: "sync" };

const WHAT = "accept job";
const OUTER_TYPES: readonly OuterType[] = ["nesterov", "sgd", "momentum", "adam"];
/** DiLoCo's outer optimizer: SGD with Nesterov momentum, α 0.7, μ 0.9. */
const OUTER_DEFAULT: OuterSpec = { type: "nesterov", learningRate: 0.7, momentum: 0.9 };

/**
 * Validates `distribution` against the job's `batchSize` and fills the defaults (`sync`; for
 * `local`: `innerState` "keep", `outer` nesterov α 0.7 μ 0.9; `momentum` 0.9 for nesterov,
 * momentum and adam). `replicas` must divide `batchSize` (each replica's inner step takes
 * batchSize/replicas examples). Throws a ValidationError naming the field.
 */
export function parseDistribution(value: unknown, batchSize: number): DistributionSpec {
  if (value === undefined) return SYNC;
  const raw = expectRecord(value, "distribution", ["mode", "replicas", "innerSteps", "innerState", "outer"], WHAT);
  const mode = expectEnum(raw.mode ?? "sync", "distribution.mode", WHAT, ["sync", "local"] as const);
  if (mode === "sync") {
    const extra = ["replicas", "innerSteps", "innerState", "outer"].find((k) => raw[k] !== undefined);
    if (extra) throw new ValidationError(`distribution.${extra}`, `Cannot ${WHAT}: 'distribution.${extra}' applies only to mode "local"; this job's mode is "sync"`);
    return SYNC;
  }
  if (raw.replicas === undefined) throw new ValidationError("distribution.replicas", `Cannot ${WHAT}: 'distribution.replicas' is required in mode "local" (the number of logical replicas K, e.g. 4)`);
  const replicas = expectNumber(raw.replicas, "distribution.replicas", WHAT, { min: 1, max: MAX_REPLICAS, integer: true });
  if (batchSize % replicas !== 0) {
    throw new ValidationError(
      "distribution.replicas",
      `Cannot ${WHAT}: 'distribution.replicas' (${replicas}) must divide 'batchSize' (${batchSize}): an inner step takes batchSize/replicas examples on each replica`,
    );
  }
  if (raw.innerSteps === undefined) throw new ValidationError("distribution.innerSteps", `Cannot ${WHAT}: 'distribution.innerSteps' is required in mode "local" (inner steps H per round, e.g. 16)`);
  const innerSteps = expectNumber(raw.innerSteps, "distribution.innerSteps", WHAT, { min: 1, max: MAX_INNER_STEPS, integer: true });
  const innerState = raw.innerState === undefined ? "keep" : expectEnum(raw.innerState, "distribution.innerState", WHAT, ["keep", "reset"] as const);
  return { mode, replicas, innerSteps, innerState, outer: parseOuter(raw.outer) };
}

function parseOuter(value: unknown): OuterSpec {
  if (value === undefined) return OUTER_DEFAULT;
  const raw = expectRecord(value, "distribution.outer", ["type", "learningRate", "momentum"], WHAT);
  const type = raw.type === undefined ? OUTER_DEFAULT.type : expectEnum(raw.type, "distribution.outer.type", WHAT, OUTER_TYPES);
  const learningRate = raw.learningRate === undefined
    ? (type === "adam" ? 1e-3 : type === "nesterov" ? OUTER_DEFAULT.learningRate : 1)
    : expectNumber(raw.learningRate, "distribution.outer.learningRate", WHAT, { min: 0, minExclusive: true, max: 100 });
  if (type === "sgd") {
    if (raw.momentum !== undefined) throw new ValidationError("distribution.outer.momentum", `Cannot ${WHAT}: 'distribution.outer.momentum' does not apply to outer type "sgd" (use "momentum" or "nesterov")`);
    return { type, learningRate, momentum: 0 };
  }
  const momentum = raw.momentum === undefined ? 0.9 : expectNumber(raw.momentum, "distribution.outer.momentum", WHAT, { min: 0, max: 1, maxExclusive: true });
  return { type, learningRate, momentum };
}

/**
 * A job's distribution as a person reads it: "sync", or "local 4×16 (keep), outer nesterov
 * lr 0.7 momentum 0.9" (K replicas × H inner steps). Takes a record's `spec.distribution` as
 * stored: absent (a record from before the field) is sync.
 */
export function describeDistribution(value: unknown): string {
  const d = value as Partial<Extract<DistributionSpec, { mode: "local" }>> | undefined;
  if (d?.mode !== "local") return "sync";
  const outer = d.outer;
  const momentum = outer && outer.type !== "sgd" ? ` ${outer.type === "adam" ? "beta1" : "momentum"} ${outer.momentum}` : "";
  return `local ${d.replicas}×${d.innerSteps} (${d.innerState ?? "keep"})${outer ? `, outer ${outer.type} lr ${outer.learningRate}${momentum}` : ""}`;
}
