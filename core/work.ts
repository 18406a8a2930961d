/**
 * The unit of work between the trainer and a worker pool, independent of transport: a training
 * step's gradients (a `StepTask`) or one evaluation pass over a split (an `EvaluationTask`), each a
 * context that every shard shares (model, parameters, keys of the dropout masks, mode) and the
 * shards themselves (the rows). A pool takes a task whole, so the HTTP pool encodes and hashes the
 * context once per step because the API says it is shared, not by discovering it.
 *
 * A shard's wire request (core/wire/messages.ts) is its context and its own fields in one map:
 * {@link gradientsRequest} / {@link evaluateRequest}.
 */
import type { ModelSpec } from "./model/spec.ts";
import type { BackendName } from "./tf.ts";
import { type EvaluateRequestInput, type GradientsRequestInput, PROTOCOL } from "./wire/messages.ts";
import type { Float32Tensor, Int32Tensor, WireTensors } from "./wire/tensor.ts";

/** What every shard of one training step shares. */
export interface StepContext {
  readonly model: ModelSpec;
  readonly parameters: WireTensors;
  readonly chunkSize: number;
  /** Training step and job seed: keys of the dropout masks. */
  readonly step: number;
  readonly seed: number;
  /** Canonical-tree reduction (core/reduce-tree.ts): replies carry aligned blocks, not one sum. */
  readonly deterministic: boolean;
  /** Chunks in the whole batch. */
  readonly totalChunks: number;
  readonly backend?: BackendName;
}

/** The rows of one gradient shard: whole chunks of the batch, from `firstChunk` on. */
export interface GradientShard {
  readonly inputs: Float32Tensor;
  readonly labels: Int32Tensor | Float32Tensor;
  /** Global example index of each row (the key of its dropout masks). */
  readonly indices: Int32Tensor;
  readonly firstChunk: number;
}

/** One training step's gradients: shards in chunk order. */
export interface StepTask {
  readonly context: StepContext;
  readonly shards: readonly GradientShard[];
}

/** What every slice of one evaluation pass shares. */
export interface EvaluationContext {
  readonly model: ModelSpec;
  readonly parameters: WireTensors;
  readonly batchNorm: WireTensors;
  readonly chunkSize: number;
  /** Also return the model outputs. */
  readonly outputs: boolean;
  readonly backend?: BackendName;
}

/** The rows of one evaluation slice. */
export interface EvaluationShard {
  readonly inputs: Float32Tensor;
  readonly labels: Int32Tensor | Float32Tensor;
}

/** One evaluation pass over a split: slices in row order. */
export interface EvaluationTask {
  readonly context: EvaluationContext;
  readonly shards: readonly EvaluationShard[];
}

/** The `/v1/gradients` request of one shard. */
export function gradientsRequest(context: StepContext, shard: GradientShard): GradientsRequestInput {
  return { protocol: PROTOCOL, ...context, ...shard };
}

/** The `/v1/evaluate` request of one slice. */
export function evaluateRequest(context: EvaluationContext, shard: EvaluationShard): EvaluateRequestInput {
  return { protocol: PROTOCOL, ...context, ...shard };
}
