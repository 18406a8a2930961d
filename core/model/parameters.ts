/**
 * Model parameters as a named record of Float32Arrays (shapes from the plan), so that they can be
 * checkpointed and sent on the wire as they are; and the seeded initializers of the course.
 */
import { Domain, Rng } from "../random.ts";
import { firstNonFinite } from "../validate.ts";
import type { ModelPlan } from "./spec.ts";

/**
 * Parameters, gradients, updates and batch-norm state: float32 arrays by name (`dense0.W`), row-major.
 * Not tensors: a `Tensor` is tfjs's, on its backend; a `WireTensor` (core/wire/tensor.ts) is one
 * with its shape on the wire.
 */
export type NamedArrays = Record<string, Float32Array>;

/** Half-width of the `random` initializer's uniform distribution: small, as in the course. */
export const RANDOM_INIT_SCALE = 0.05;

/**
 * Initial parameters of a model, drawn from the Philox stream of (`seed`, layer index), so a
 * layer's initial weights do not change when another layer is added or resized.
 * - `zeros`: W = 0 (every hidden unit stays identical to its neighbours: symmetry is never broken);
 * - `random`: W ~ U(−0.05, 0.05);
 * - `xavier`: W ~ N(0, 1/nIn) (variance 1/n[l−1], the course's tanh initialization);
 * - `he`: W ~ N(0, 2/nIn) (variance 2/n[l−1], for ReLU).
 * Biases and batch-norm β start at 0, batch-norm γ at 1.
 */
export function initParameters(plan: ModelPlan, seed: number): NamedArrays {
  const params: NamedArrays = {};
  for (const p of plan.parameters) {
    const size = p.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    if (p.name.endsWith(".gamma")) data.fill(1);
    if (p.isWeight) {
      const layer = plan.spec.layers[p.layer];
      const init = layer.type === "dense" ? layer.init : "zeros";
      const nIn = p.shape[0];
      const rng = new Rng(seed, Domain.init, p.layer);
      if (init === "random") {
        for (let i = 0; i < size; i++) data[i] = (2 * rng.uniform() - 1) * RANDOM_INIT_SCALE;
      } else if (init === "xavier" || init === "he") {
        const std = Math.sqrt((init === "he" ? 2 : 1) / nIn);
        for (let i = 0; i < size; i++) data[i] = rng.normal() * std;
      }
    }
    params[p.name] = data;
  }
  return params;
}

/** Initial batch-norm running statistics: mean 0, variance 1. */
export function initBatchNormState(plan: ModelPlan): NamedArrays {
  const state: NamedArrays = {};
  for (const s of plan.batchNormState) {
    state[s.name] = new Float32Array(s.shape[0]).fill(s.name.endsWith(".variance") ? 1 : 0);
  }
  return state;
}

/**
 * Checks that `tensors` has exactly the plan's tensors with the right sizes and only finite
 * values; throws a TypeError or RangeError naming the tensor (prefixed by `path`).
 */
export function checkTensors(
  tensors: NamedArrays,
  expected: ModelPlan["parameters"],
  path: string,
): void {
  for (const p of expected) {
    const t = tensors[p.name];
    const size = p.shape.reduce((a, b) => a * b, 1);
    if (!(t instanceof Float32Array)) {
      throw new TypeError(`Cannot run model: '${path}.${p.name}' must be a Float32Array of ${size} values`);
    }
    if (t.length !== size) {
      throw new RangeError(
        `Cannot run model: '${path}.${p.name}' must have ${size} values (shape [${p.shape.join(", ")}]), current length is ${t.length}`,
      );
    }
    const i = firstNonFinite(t);
    if (i >= 0) throw new RangeError(`Cannot run model: '${path}.${p.name}[${i}]' must be finite, current value is ${t[i]}`);
  }
  const known = new Set(expected.map((p) => p.name));
  for (const name of Object.keys(tensors)) {
    if (!known.has(name)) throw new TypeError(`Cannot run model: '${path}.${name}' is not a tensor of this model`);
  }
}
