/** Seeded random batches for engine tests. */
import type { Batch } from "../../core/model/engine.ts";
import type { ModelPlan } from "../../core/model/spec.ts";
import { Domain, Rng } from "../../core/random.ts";

export function randomBatch(plan: ModelPlan, m: number, seed = 1, firstIndex = 0): Batch {
  const rng = new Rng(seed, Domain.test);
  const inputs = Float32Array.from({ length: m * plan.inputSize }, () => rng.normal());
  const K = plan.outputs;
  const labels = plan.spec.output === "linear"
    ? Float32Array.from({ length: m * K }, () => rng.normal())
    : Int32Array.from({ length: m }, () => rng.int(plan.spec.output === "sigmoid" ? 2 : K));
  const indices = Array.from({ length: m }, (_, i) => firstIndex + i);
  return { inputs, labels, indices };
}

/** Rows [a, b) of a batch. */
export function sliceBatch(plan: ModelPlan, batch: Batch, a: number, b: number): Batch {
  const n = plan.inputSize;
  const K = plan.spec.output === "linear" ? plan.outputs : 1;
  return {
    inputs: batch.inputs.subarray(a * n, b * n),
    labels: batch.labels.subarray(a * K, b * K),
    indices: Array.prototype.slice.call(batch.indices, a, b) as number[],
  };
}
