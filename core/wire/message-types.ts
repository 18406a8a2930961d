/**
 * The types of the wire messages, written out rather than inferred from their valibot schemas
 * (messages.ts, where each field is documented): a JSR package's public types must need no
 * inference. messages.ts checks at compile time that each is exactly what its schema infers, so
 * a field added to a schema and not here (or the reverse) fails `tsc`.
 */
import type { ModelSpec } from "../model/spec.ts";
import type { OptimizerSpec } from "../optim/from-spec.ts";
import type { BackendName } from "../tf.ts";
import type { Float32Tensor, Float64Tensor, Int32Tensor, Uint8Tensor } from "./tensor.ts";

/** One object type from an intersection (the schemas infer flat object types). */
type Flat<T> = { [K in keyof T]: T[K] };

/** Named float32 tensors on the wire (parameters, gradients, batch-norm state, moments). */
type Named = { [name: string]: Float32Tensor };

/** How uint8 input codes are normalized after the table lookup. */
export type InputNormalizationMessage =
  | { kind: "standardize"; mean: Float32Tensor; std: Float32Tensor }
  | { kind: "minmax"; min: Float32Tensor; range: Float32Tensor };

/** The fields of a training request that say how uint8 inputs decode. */
type InputDecoding = {
  inputValues?: Float32Tensor | undefined;
  inputNormalization?: InputNormalizationMessage | undefined;
};

// POST /v1/gradients

type GradientsRequestFields = InputDecoding & {
  protocol: 1;
  model: ModelSpec;
  parameters: Named;
  batchNorm?: Named | undefined;
  inputs: Float32Tensor | Uint8Tensor;
  labels: Int32Tensor | Float32Tensor;
  indices: Int32Tensor;
  chunkSize: number;
  step: number;
  seed: number;
  firstChunk?: number | undefined;
  totalChunks?: number | undefined;
  backend?: BackendName | undefined;
};

/** A POST /v1/gradients request as validated. */
export type GradientsRequest = Flat<GradientsRequestFields & {
  deterministic: boolean;
}>;

/** What a caller writes: defaults may be left out. */
export type GradientsRequestInput = Flat<GradientsRequestFields & {
  deterministic?: boolean | undefined;
}>;

/** Per-chunk scalars of a shard, in chunk order. */
export type ChunkStatsMessage = { count: Int32Tensor; loss: Float64Tensor; correct: Int32Tensor };

/** Moments of every chunk of one batch-norm layer. */
export type ChunkMomentsMessage = { count: Int32Tensor; mean: Float32Tensor; m2: Float32Tensor };

/** Where a worker spent its time, in milliseconds. */
export type Timing = { readMs: number; verifyMs: number; decodeMs: number; queueMs: number; computeMs: number; encodeMs: number };

/** The gradient sums of one canonical-tree block. */
export type GradientBlock = { start: number; count: number; gradients: Named };

/** A POST /v1/gradients reply. */
export type GradientsResponse = {
  protocol: 1;
  backend: string;
  count: number;
  lossSum: number;
  correct: number;
  chunks: ChunkStatsMessage;
  gradients?: Named | undefined;
  blocks?: GradientBlock[] | undefined;
  batchNorm: { [layer: string]: ChunkMomentsMessage };
  timing: Timing;
};

// POST /v1/evaluate

type EvaluateRequestFields = {
  protocol: 1;
  model: ModelSpec;
  parameters: Named;
  batchNorm?: Named | undefined;
  inputs: Float32Tensor;
  labels: Int32Tensor | Float32Tensor;
  chunkSize: number;
  backend?: BackendName | undefined;
};

/** A POST /v1/evaluate request as validated. */
export type EvaluateRequest = Flat<EvaluateRequestFields & {
  outputs: boolean;
}>;

/** What a caller writes: defaults may be left out. */
export type EvaluateRequestInput = Flat<EvaluateRequestFields & {
  outputs?: boolean | undefined;
}>;

/** A POST /v1/evaluate reply. */
export type EvaluateResponse = {
  protocol: 1;
  backend: string;
  count: number;
  lossSum: number;
  correct: number;
  chunks: ChunkStatsMessage;
  outputs?: Float32Tensor | undefined;
  timing: Timing;
};

// POST /v1/rounds

/** A replica's inner optimizer state: updates applied so far and the moments by name. */
export type InnerStateMessage = { step: number; moments: { [moment: string]: Named } };

type RoundRequestFields = InputDecoding & {
  protocol: 1;
  model: ModelSpec;
  parameters: Named;
  batchNorm?: Named | undefined;
  optimizer: OptimizerSpec;
  innerState?: InnerStateMessage | undefined;
  returnInnerState?: boolean | undefined;
  regularization?: { l2?: number | undefined; l1?: number | undefined } | undefined;
  inputs: Float32Tensor | Uint8Tensor;
  labels: Int32Tensor | Float32Tensor;
  indices: Int32Tensor;
  stepExamples: Int32Tensor;
  learningRates: Float64Tensor;
  penaltyExamples: Int32Tensor;
  step: number;
  seed: number;
  chunkSize: number;
  backend?: BackendName | undefined;
};

/** A POST /v1/rounds request as validated. */
export type RoundRequest = Flat<RoundRequestFields & {
  deterministic: boolean;
}>;

/** What a caller writes: defaults may be left out. */
export type RoundRequestInput = Flat<RoundRequestFields & {
  deterministic?: boolean | undefined;
}>;

/** Per-step scalars of a round, in step order. */
export type StepStatsMessage = { count: Int32Tensor; loss: Float64Tensor; correct: Int32Tensor; skipped: Int32Tensor };

/** A POST /v1/rounds reply. */
export type RoundResponse = {
  protocol: 1;
  backend: string;
  parameters: Named;
  batchNorm: Named;
  innerState?: InnerStateMessage | undefined;
  steps: StepStatsMessage;
  timing: Timing;
};

// GET /v1/health and error bodies

/** A worker's limits, as its health reply states them. */
export type HealthLimits = {
  maxBodyBytes: number;
  maxExamples: number;
  maxActivations: number;
  maxChunkGradients: number;
  maxInFlight: number;
  maxUnits: number;
  maxLayers: number;
  maxParameters: number;
  maxInputFeatures: number;
  maxRoundExamples?: number | undefined;
};

/** A GET /v1/health reply. */
export type HealthResponse = {
  protocol: 1;
  runtime: string;
  version: string;
  backend: string;
  backends: string[];
  simd: boolean;
  auth: "hmac-sha256" | "none";
  authenticated?: boolean | undefined;
  inputCodes?: boolean | undefined;
  returnInnerState?: boolean | undefined;
  limits: HealthLimits;
};

/** A 4xx/5xx JSON body. */
export type ErrorBody = { error: { code: string; message: string; field?: string | undefined } };
