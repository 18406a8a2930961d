/**
 * The unit of work between the trainer and a worker pool, independent of transport: a training
 * step's gradients (a `StepTask`) or one evaluation pass over a split (an `EvaluationTask`), each a
 * context that every shard shares (model, parameters, keys of the dropout masks, mode) and the
 * shards themselves (the rows). A pool takes a task whole, so the HTTP pool encodes and hashes the
 * context once per step because the API says it is shared, not by discovering it.
 *
 * A shard's wire request (core/wire/messages.ts) is its context and its own fields in one map:
 * {@link gradientsRequest} / {@link evaluateRequest} / {@link roundRequest}.
 *
 * A local-step round (a `RoundTask`) has one shard per logical replica: the same inner steps of
 * every replica, each replica on its own rows and from its own state.
 */
import type { Regularization } from "./model/regularization.ts";
import type { ModelSpec } from "./model/spec.ts";
import type { OptimizerSpec } from "./optim/from-spec.ts";
import type { BackendName } from "./tf.ts";
import {
  type EvaluateRequestInput,
  type GradientsRequestInput,
  type InnerStateMessage,
  type InputNormalizationMessage,
  PROTOCOL,
  type RoundRequestInput,
} from "./wire/messages.ts";
import type { Float32Tensor, Float64Tensor, Int32Tensor, Uint8Tensor, WireTensors } from "./wire/tensor.ts";

/**
 * How a task's uint8 inputs decode (core/data/input-codes.ts): shared by every shard, so in the
 * context. Absent when the shards carry float32 rows.
 */
export interface InputDecoding {
  readonly inputValues?: Float32Tensor;
  readonly inputNormalization?: InputNormalizationMessage;
}

/** What every shard of one training step shares. */
export interface StepContext extends InputDecoding {
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
  /** float32 rows, or uint8 codes decoded with the context's InputDecoding. */
  readonly inputs: Float32Tensor | Uint8Tensor;
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

/**
 * What every replica's request of one round segment shares: the model, the inner steps' keys and
 * rates, and, on a round's first segment, the global parameters and batch-norm state every
 * replica starts from (later segments carry each replica's own in its shard).
 */
export interface RoundContext extends InputDecoding {
  readonly model: ModelSpec;
  readonly optimizer: OptimizerSpec;
  readonly regularization: Regularization;
  readonly chunkSize: number;
  readonly seed: number;
  readonly deterministic: boolean;
  /** Global inner-step number of the segment's first step (a dropout-mask key). */
  readonly step: number;
  readonly learningRates: Float64Tensor;
  readonly penaltyExamples: Int32Tensor;
  readonly parameters?: WireTensors;
  readonly batchNorm?: WireTensors;
  /** False where the coordinator will not use the replies' inner state (absent: they carry it). */
  readonly returnInnerState?: false;
  readonly backend?: BackendName;
}

/** One replica's rows and state for a round segment. */
export interface RoundShard {
  /** As GradientShard's. */
  readonly inputs: Float32Tensor | Uint8Tensor;
  readonly labels: Int32Tensor | Float32Tensor;
  readonly indices: Int32Tensor;
  readonly stepExamples: Int32Tensor;
  readonly parameters?: WireTensors;
  readonly batchNorm?: WireTensors;
  readonly innerState?: InnerStateMessage;
}

/** A segment of a local-step round: one shard per replica, in replica order. */
export interface RoundTask {
  readonly context: RoundContext;
  readonly shards: readonly RoundShard[];
}

/** The `/v1/rounds` request of one replica. */
export function roundRequest(context: RoundContext, shard: RoundShard): RoundRequestInput {
  return { protocol: PROTOCOL, ...context, ...shard } as RoundRequestInput;
}
