/**
 * L2 and L1 penalties on the weight matrices (never on biases or batch-norm γ/β), added centrally
 * to the cost of a mini-batch of m examples, as the course writes them:
 *   L2: (λ/2m)·Σ‖W‖²_F,   gradient (λ/m)·W;
 *   L1: (λ/2m)·Σ|W|,      gradient (λ/2m)·sign(W).
 */
import { expectNumber, expectRecord } from "../validate.ts";
import type { NamedArrays } from "./parameters.ts";
import type { ModelPlan } from "./spec.ts";

export interface Regularization {
  readonly l2?: number;
  readonly l1?: number;
}

export interface Penalty {
  /** The penalty term of the cost (float64). */
  readonly value: number;
  /** Its gradient for each weight matrix (only weights appear). */
  readonly gradients: NamedArrays;
}

/** The penalty of `params` for a batch of `m` examples, and its gradient. */
export function penalty(plan: ModelPlan, params: NamedArrays, reg: Regularization, m: number): Penalty {
  const l2 = reg.l2 ?? 0, l1 = reg.l1 ?? 0;
  const gradients: NamedArrays = {};
  let value = 0;
  if (l2 === 0 && l1 === 0) return { value, gradients };
  for (const p of plan.parameters) {
    if (!p.isWeight) continue;
    const w = params[p.name];
    const g = new Float32Array(w.length);
    let squares = 0, absolutes = 0;
    for (let i = 0; i < w.length; i++) {
      const x = w[i];
      squares += x * x;
      absolutes += Math.abs(x);
      g[i] = (l2 / m) * x + (l1 / (2 * m)) * Math.sign(x);
    }
    value += (l2 / (2 * m)) * squares + (l1 / (2 * m)) * absolutes;
    gradients[p.name] = g;
  }
  return { value, gradients };
}

/**
 * The gradient of a mini-batch's cost from the sums of its per-example gradients, in place:
 * `g ← g/m + (penalty gradient for mPenalty examples)`. Sync training has one m (the batch); a
 * replica of a local-step round divides by its own rows and takes the whole step's penalty.
 */
export function meanPlusPenalty(plan: ModelPlan, sums: NamedArrays, params: NamedArrays, reg: Regularization, m: number, mPenalty: number = m): NamedArrays {
  const pen = penalty(plan, params, reg, mPenalty);
  for (const p of plan.parameters) {
    const g = sums[p.name];
    const pg = pen.gradients[p.name];
    for (let i = 0; i < g.length; i++) g[i] = pg ? g[i] / m + pg[i] : g[i] / m;
  }
  return sums;
}

/** Validates `regularization` of a job spec: `{l2?, l1?}`, each a finite number ≥ 0. */
export function parseRegularization(value: unknown, path = "regularization"): Regularization {
  if (value === undefined) return {};
  const raw = expectRecord(value, path, ["l2", "l1"], "use regularization");
  const out: { l2?: number; l1?: number } = {};
  if (raw.l2 !== undefined) out.l2 = expectNumber(raw.l2, `${path}.l2`, "use regularization", { min: 0 });
  if (raw.l1 !== undefined) out.l1 = expectNumber(raw.l1, `${path}.l1`, "use regularization", { min: 0 });
  return out;
}
