/** Wire requests built from a plan, parameters and a batch, for the worker and wire tests. */
import type { Batch } from "../../core/model/engine.ts";
import type { Tensors } from "../../core/model/parameters.ts";
import type { ModelPlan, ModelSpec } from "../../core/model/spec.ts";
import type { EvaluateRequestInput, GradientsRequestInput } from "../../core/wire/messages.ts";
import { wireFloat32, wireInt32, type Float32Tensor } from "../../core/wire/tensor.ts";

/** Named tensors of a plan as wire tensors (shapes from the plan). */
export function wireTensors(tensors: Tensors, infos: ModelPlan["parameters"]): Record<string, Float32Tensor> {
  const out: Record<string, Float32Tensor> = {};
  for (const p of infos) out[p.name] = wireFloat32(tensors[p.name], p.shape);
  return out;
}

function examples(plan: ModelPlan, batch: Batch) {
  const m = batch.inputs.length / plan.inputSize;
  const labels = batch.labels instanceof Int32Array
    ? wireInt32(batch.labels, [m])
    : wireFloat32(batch.labels, [m, plan.outputs]);
  return { m, inputs: wireFloat32(batch.inputs, [m, plan.inputSize]), labels };
}

export function gradientsRequest(
  plan: ModelPlan,
  spec: ModelSpec | Record<string, unknown>,
  params: Tensors,
  batch: Batch,
  options: { chunkSize: number; step: number; seed: number; firstChunk?: number; totalChunks?: number; backend?: "wasm" | "cpu" | "webgpu" },
): GradientsRequestInput {
  const { m, inputs, labels } = examples(plan, batch);
  return {
    protocol: 1,
    model: spec as ModelSpec,
    parameters: wireTensors(params, plan.parameters),
    inputs,
    labels,
    indices: wireInt32(Int32Array.from(batch.indices), [m]),
    chunkSize: options.chunkSize,
    step: options.step,
    seed: options.seed,
    ...(options.firstChunk === undefined ? {} : { deterministic: true, firstChunk: options.firstChunk, totalChunks: options.totalChunks }),
    ...(options.backend ? { backend: options.backend } : {}),
  };
}

export function evaluateRequest(
  plan: ModelPlan,
  spec: ModelSpec | Record<string, unknown>,
  params: Tensors,
  state: Tensors,
  batch: Batch,
  options: { chunkSize: number; outputs?: boolean },
): EvaluateRequestInput {
  const { inputs, labels } = examples(plan, batch);
  return {
    protocol: 1,
    model: spec as ModelSpec,
    parameters: wireTensors(params, plan.parameters),
    batchNorm: wireTensors(state, plan.batchNormState),
    inputs,
    labels,
    chunkSize: options.chunkSize,
    outputs: options.outputs ?? false,
  };
}
