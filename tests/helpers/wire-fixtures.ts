/** Wire requests built from a plan, parameters and a batch, for the worker and wire tests. */
import type { Batch } from "../../core/model/engine.ts";
import type { NamedArrays } from "../../core/model/parameters.ts";
import type { ModelPlan, ModelSpec } from "../../core/model/spec.ts";
import type { GradientShardResult } from "../../core/shard.ts";
import type { EvaluateRequestInput, GradientsRequestInput } from "../../core/wire/messages.ts";
import type { GradientShard, StepContext, StepTask } from "../../core/work.ts";
import type { ShardOutcome, WorkerPool } from "../../coordinator/pool/worker-pool.ts";
import { wireFloat32, wireInt32, wireTensors } from "../../core/wire/tensor.ts";

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
  params: NamedArrays,
  batch: Batch,
  options: { chunkSize: number; step: number; seed: number; firstChunk?: number; totalChunks?: number; backend?: "wasm" | "cpu" | "webgpu" },
): GradientsRequestInput {
  const { m, inputs, labels } = examples(plan, batch);
  return {
    protocol: 1,
    model: spec as ModelSpec,
    parameters: wireTensors(plan.parameters, params),
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
  params: NamedArrays,
  state: NamedArrays,
  batch: Batch,
  options: { chunkSize: number; outputs?: boolean },
): EvaluateRequestInput {
  const { inputs, labels } = examples(plan, batch);
  return {
    protocol: 1,
    model: spec as ModelSpec,
    parameters: wireTensors(plan.parameters, params),
    batchNorm: wireTensors(plan.batchNormState, state),
    inputs,
    labels,
    chunkSize: options.chunkSize,
    outputs: options.outputs ?? false,
  };
}

const SHARD_KEYS: ReadonlySet<string> = new Set(["inputs", "labels", "indices", "firstChunk"]);

/**
 * A one-shard step task (core/work.ts) whose request is exactly `request` (its fields, no others):
 * for tests and benchmarks that send one prebuilt request through a pool.
 */
export function stepTaskOf(request: GradientsRequestInput): StepTask {
  const context: Record<string, unknown> = {};
  const shard: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(request)) {
    if (key === "protocol" || value === undefined) continue;
    (SHARD_KEYS.has(key) ? shard : context)[key] = value;
  }
  return { context: context as unknown as StepContext, shards: [shard as unknown as GradientShard] };
}

/** The outcome of one prebuilt request sent through a pool. */
export async function runOne(pool: WorkerPool, request: GradientsRequestInput, signal: AbortSignal): Promise<ShardOutcome<GradientShardResult>> {
  return (await pool.runStep(stepTaskOf(request), { signal })).outcomes[0];
}
