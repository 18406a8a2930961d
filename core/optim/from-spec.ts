/** Building an optimizer from the job spec's `optimizer` field. */
import { expectEnum, expectRecord } from "../validate.ts";
import { adam, type AdamMoments } from "./adam.ts";
import { momentum, type MomentumMoments } from "./momentum.ts";
import { rmsprop, type RmspropMoments } from "./rmsprop.ts";
import { sgd, type SgdMoments } from "./sgd.ts";
import type { DescentOptimizer } from "./types.ts";

/** The `optimizer` field of a job spec (DESIGN.md). */
export type OptimizerSpec =
  | { readonly type: "sgd"; readonly learningRate: number }
  | { readonly type: "momentum"; readonly learningRate: number; readonly beta?: number; readonly biasCorrection?: boolean }
  | { readonly type: "rmsprop"; readonly learningRate: number; readonly beta?: number; readonly epsilon?: number }
  | {
    readonly type: "adam";
    readonly learningRate: number;
    readonly beta1?: number;
    readonly beta2?: number;
    readonly epsilon?: number;
  };

export type AnyDescentOptimizer =
  | DescentOptimizer<SgdMoments>
  | DescentOptimizer<MomentumMoments>
  | DescentOptimizer<RmspropMoments>
  | DescentOptimizer<AdamMoments>;

const FIELDS = {
  sgd: ["type", "learningRate"],
  momentum: ["type", "learningRate", "beta", "biasCorrection"],
  rmsprop: ["type", "learningRate", "beta", "epsilon"],
  adam: ["type", "learningRate", "beta1", "beta2", "epsilon"],
} as const;
const TYPES = Object.keys(FIELDS) as (keyof typeof FIELDS)[];

/**
 * Builds `sgd`, `momentum`, `rmsprop` or `adam` from a spec such as
 * `{ "type": "adam", "learningRate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8 }`. An
 * unknown type or field is a TypeError naming it (`optimizer.beta`); the values are validated by
 * the optimizer's factory (RangeError naming the field).
 */
export function optimizer(spec: OptimizerSpec): AnyDescentOptimizer {
  const what = "create optimizer";
  const type = expectEnum((spec as { type?: unknown } | null | undefined)?.type, "optimizer.type", what, TYPES);
  expectRecord(spec, "optimizer", FIELDS[type], what);
  switch (type) {
    case "sgd":
      return sgd(spec as Extract<OptimizerSpec, { type: "sgd" }>);
    case "momentum":
      return momentum(spec as Extract<OptimizerSpec, { type: "momentum" }>);
    case "rmsprop":
      return rmsprop(spec as Extract<OptimizerSpec, { type: "rmsprop" }>);
    case "adam":
      return adam(spec as Extract<OptimizerSpec, { type: "adam" }>);
  }
}
