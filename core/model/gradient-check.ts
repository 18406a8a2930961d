/**
 * Gradient checking as the course describes it: two-sided differences of the whole cost,
 *   dθ_approx[i] = (J(θ + ε·eᵢ) − J(θ − ε·eᵢ)) / 2ε,
 * compared with the backpropagated gradient dθ by the ratio
 *   ‖dθ_approx − dθ‖₂ / (‖dθ_approx‖₂ + ‖dθ‖₂),
 * read as: < 1e-7 great, < 1e-5 fine (check the worst component), < 1e-3 suspicious, above: a bug.
 * The cost J includes the L2/L1 penalty. The numerical side uses the float64 reference forward
 * pass (reference.ts); the analytic side is the tfjs engine plus the central penalty gradient.
 * Dropout masks are a pure function of (seed, step, example, layer), so J is a deterministic
 * function of θ even with dropout on and the check remains valid.
 */
import { computeGradients, type Batch } from "./engine.ts";
import type { NamedArrays } from "./parameters.ts";
import { referenceCost } from "./reference.ts";
import { penalty, type Regularization } from "./regularization.ts";
import type { ModelPlan } from "./spec.ts";

export interface GradientCheckOptions {
  readonly step?: number;
  readonly seed?: number;
  readonly chunkSize: number;
  readonly regularization?: Regularization;
  /** Finite-difference step (default 1e-7, as in the course; the reference is float64). */
  readonly epsilon?: number;
  /** Most entries checked per tensor (evenly spaced); default: all. */
  readonly maxPerTensor?: number;
}

export interface TensorCheck {
  readonly name: string;
  /** Entries compared. */
  readonly checked: number;
  readonly size: number;
  readonly ratio: number;
  /** Index (flat, row-major) of the largest |dθ_approx − dθ| and its two values. */
  readonly worst: { readonly index: number; readonly numeric: number; readonly analytic: number };
}

export type GradientVerdict = "great" | "fine" | "suspicious" | "wrong";

export interface GradientCheckReport {
  readonly ratio: number;
  readonly verdict: GradientVerdict;
  readonly tensors: readonly TensorCheck[];
  /** The tensor and index with the largest discrepancy overall. */
  readonly worst: { readonly name: string; readonly index: number; readonly numeric: number; readonly analytic: number };
  readonly examples: number;
  readonly withDropout: boolean;
  readonly epsilon: number;
}

/** The course's reading of a gradient-check ratio. */
export function verdictOf(ratio: number): GradientVerdict {
  if (ratio < 1e-7) return "great";
  if (ratio < 1e-5) return "fine";
  if (ratio < 1e-3) return "suspicious";
  return "wrong";
}

/**
 * Runs the check on one batch in training mode (batch norm per chunk, dropout masks of `step`):
 * the analytic gradient is the engine's gradient sum / m plus the penalty gradient.
 */
export async function gradientCheck(
  plan: ModelPlan,
  params: NamedArrays,
  batch: Batch,
  options: GradientCheckOptions,
): Promise<GradientCheckReport> {
  const step = options.step ?? 0, seed = options.seed ?? 0;
  const reg = options.regularization ?? {};
  const m = batch.indices.length;
  const result = await computeGradients(plan, params, batch, { step, seed, chunkSize: options.chunkSize });
  const pen = penalty(plan, params, reg, m);
  const analytic: NamedArrays = {};
  for (const p of plan.parameters) {
    const g = result.gradients![p.name], pg = pen.gradients[p.name];
    analytic[p.name] = g.map((x, i) => x / m + (pg ? pg[i] : 0));
  }
  return compareWithCost(plan, params, analytic, batch, options);
}

/**
 * Compares given analytic gradients of the cost with two-sided differences of the float64
 * reference cost. Exposed so that gradients computed elsewhere (a distributed step, a suspect
 * implementation) can be checked the same way.
 */
export function compareWithCost(
  plan: ModelPlan,
  params: NamedArrays,
  analytic: NamedArrays,
  batch: Batch,
  options: GradientCheckOptions,
): GradientCheckReport {
  const step = options.step ?? 0, seed = options.seed ?? 0, eps = options.epsilon ?? 1e-7;
  const reg = options.regularization ?? {};
  const theta: Record<string, Float64Array> = {};
  for (const p of plan.parameters) theta[p.name] = Float64Array.from(params[p.name]);
  const mode = { mode: "train", step, seed, chunkSize: options.chunkSize } as const;
  const cost = () => referenceCost(plan, theta, batch, mode, reg).cost;

  let diff2 = 0, num2 = 0, ana2 = 0;
  let worst = { name: "", index: -1, numeric: 0, analytic: 0, gap: -1 };
  const tensors: TensorCheck[] = [];
  for (const p of plan.parameters) {
    const t = theta[p.name];
    const g = analytic[p.name];
    const stride = options.maxPerTensor && t.length > options.maxPerTensor ? t.length / options.maxPerTensor : 1;
    let d2 = 0, n2 = 0, a2 = 0, checked = 0;
    let tw = { index: -1, numeric: 0, analytic: 0, gap: -1 };
    for (let f = 0; f < t.length; f += stride) {
      const i = Math.floor(f);
      const saved = t[i];
      t[i] = saved + eps;
      const plus = cost();
      t[i] = saved - eps;
      const minus = cost();
      t[i] = saved;
      const numeric = (plus - minus) / (2 * eps);
      const gap = Math.abs(numeric - g[i]);
      d2 += gap * gap;
      n2 += numeric * numeric;
      a2 += g[i] * g[i];
      checked++;
      if (gap > tw.gap) tw = { index: i, numeric, analytic: g[i], gap };
    }
    diff2 += d2;
    num2 += n2;
    ana2 += a2;
    const denom = Math.sqrt(n2) + Math.sqrt(a2);
    tensors.push({
      name: p.name,
      checked,
      size: t.length,
      ratio: denom === 0 ? 0 : Math.sqrt(d2) / denom,
      worst: { index: tw.index, numeric: tw.numeric, analytic: tw.analytic },
    });
    if (tw.gap > worst.gap) worst = { name: p.name, ...tw };
  }
  const denom = Math.sqrt(num2) + Math.sqrt(ana2);
  const ratio = denom === 0 ? 0 : Math.sqrt(diff2) / denom;
  return {
    ratio,
    verdict: verdictOf(ratio),
    tensors,
    worst: { name: worst.name, index: worst.index, numeric: worst.numeric, analytic: worst.analytic },
    examples: batch.indices.length,
    withDropout: plan.spec.layers.some((l) => l.type === "dropout" && l.keepProb < 1),
    epsilon: eps,
  };
}
