/**
 * The messages between the coordinator and an edge function (DESIGN.md, "Wire protocol"), declared
 * once as valibot schemas. Their types are written out in message-types.ts (checked at compile
 * time to be exactly what each schema infers), and every decoder validates with the schemas, so
 * a message that does not match is a {@link WireError} naming the field (a path such as
 * `parameters.dense0.W.data` or `model.layers[2].units`) rather than a crash deeper down.
 *
 * Requests are strict (an unknown field is an error: it is almost always a typo or a client
 * newer than the worker, and silently ignoring it would compute the wrong thing). Replies are
 * lenient (unknown fields are dropped), so a coordinator keeps working with newer workers that
 * add fields. Both carry `protocol: 1`; the contract is extended, never renamed.
 *
 * Two steps validate a request: the schema (structure, types, tensor shapes against their data,
 * finiteness), then {@link checkGradientsRequest} / {@link checkEvaluateRequest} against the model
 * plan (parameter names and shapes, input width, labels, chunk layout, limits).
 */
import * as v from "valibot";
import type { ModelSpec } from "../model/spec.ts";
import type { OptimizerSpec } from "../optim/from-spec.ts";
import type { BackendName } from "../tf.ts";
import { decode, type DecodeArena } from "./codec.ts";
import { exactSchema } from "./exact-schema.ts";
import type { ErrorBody, EvaluateRequest, EvaluateRequestInput, EvaluateResponse, GradientsRequest, GradientsRequestInput, GradientsResponse, HealthResponse, RoundRequest, RoundRequestInput, RoundResponse } from "./message-types.ts";
import {
  FiniteFloat32TensorSchema as finiteFloat32Tensor,
  Float32TensorSchema as float32Tensor,
  Float64TensorSchema as float64Tensor,
  Int32TensorSchema as int32Tensor,
  Uint8TensorSchema as uint8Tensor,
} from "./tensor.ts";
import { describeValue, WireError } from "./wire-error.ts";

export type {
  ChunkMomentsMessage,
  ChunkStatsMessage,
  ErrorBody,
  EvaluateRequest,
  EvaluateRequestInput,
  EvaluateResponse,
  GradientBlock,
  GradientsRequest,
  GradientsRequestInput,
  GradientsResponse,
  HealthResponse,
  InnerStateMessage,
  InputNormalizationMessage,
  RoundRequest,
  RoundRequestInput,
  RoundResponse,
  StepStatsMessage,
  Timing,
} from "./message-types.ts";

/** The protocol version this code speaks. */
export const PROTOCOL = 1;

/**
 * Most chunks in one batch. Far above any real batch, and low enough that chunk indices stay
 * 32-bit integers, which the canonical-tree arithmetic (bitwise, core/reduce-tree.ts) relies on.
 */
export const MAX_CHUNKS = 2 ** 30;

/** Backends a request may ask for (BackendName of core/tf.ts). */
export const BACKEND_NAMES = ["wasm", "webgpu", "cpu"] as const satisfies readonly BackendName[];

const protocol = v.literal(PROTOCOL);
const count = v.pipe(v.number(), v.safeInteger(), v.minValue(0));
const positive = v.pipe(v.number(), v.safeInteger(), v.minValue(1));
/** Any number, NaN and ±Infinity included (a diverging model has a non-finite loss). */
const anyNumber = v.custom<number>((x) => typeof x === "number", "must be a number");
/**
 * A model spec. Typed as the parsed spec, but only checked to be a map here: core's parseModelSpec
 * validates it in the plan step (request-check.ts), which every request decoder runs.
 */
const modelSpec = v.custom<ModelSpec>(
  (x) => typeof x === "object" && x !== null && !Array.isArray(x),
  "must be a model spec (a map with input, layers and output)",
);
const backend = v.optional(v.picklist(BACKEND_NAMES));
const named = <S extends v.GenericSchema>(tensor: S) => v.record(v.string(), tensor);

/**
 * Training inputs: float32 rows as the engine takes them, or uint8 codes (core/data/input-codes.ts)
 * that the worker turns into exactly those rows with `inputValues` and `inputNormalization`.
 */
const trainingInputs = v.variant("dtype", [finiteFloat32Tensor, uint8Tensor]);

/**
 * The normalization a worker applies to uint8 inputs after the table lookup: the job's fitted
 * statistics (core/data/normalize.ts) as float32 [inputSize] tensors, x' = (x − mean) / std or
 * (x − min) / range, computed as the coordinator computes it.
 */
const InputNormalizationSchema = v.variant("kind", [
  v.strictObject({ kind: v.literal("standardize"), mean: finiteFloat32Tensor, std: finiteFloat32Tensor }),
  v.strictObject({ kind: v.literal("minmax"), min: finiteFloat32Tensor, range: finiteFloat32Tensor }),
]);

/** The fields that say how uint8 inputs decode (only with uint8 inputs; shared by every shard of a step). */
const inputDecoding = {
  /** float32 [V], 1 ≤ V ≤ 256: the value of each code. Absent: a code is its own value (raw 0..255 pixels). */
  inputValues: v.optional(finiteFloat32Tensor),
  /** Applied after the lookup; absent: none. */
  inputNormalization: v.optional(InputNormalizationSchema),
};

/**
 * The request fields that differ between the shards of one training step (and between the slices
 * of one evaluation). The others (model, parameters, batch-norm state, step, seed, mode flags) are
 * the same for all of them, so the worker pool encodes and hashes them once per step.
 */
export const SHARD_FIELDS: ReadonlySet<string> = new Set(["inputs", "labels", "indices", "firstChunk"]);

// ---------------------------------------------------------------------------------------------
// POST /v1/gradients

export const GradientsRequestSchema: v.GenericSchema<GradientsRequestInput, GradientsRequest> = exactSchema<GradientsRequestInput, GradientsRequest>()(v.strictObject({
  protocol,
  /** The model spec of the job (validated with core's parseModelSpec). */
  model: modelSpec,
  /** Every parameter of the model, by name (`dense0.W`, ...), finite. */
  parameters: named(finiteFloat32Tensor),
  /**
   * Batch-norm running statistics (`batchnorm{i}.mean`, `.variance`). Training normalizes each
   * chunk with its own statistics (ghost batch norm), so they are not used here; accepted so that
   * one state record serves both endpoints.
   */
  batchNorm: v.optional(named(finiteFloat32Tensor)),
  /** float32 [m, ...input] (or [m, inputSize]), or uint8 codes of that shape (see inputValues). */
  inputs: trainingInputs,
  ...inputDecoding,
  /** int32 [m] class indices (softmax, sigmoid) or float32 [m, K] targets (linear). */
  labels: v.variant("dtype", [int32Tensor, finiteFloat32Tensor]),
  /** int32 [m]: global example index of each row, the key of its dropout masks. */
  indices: int32Tensor,
  /** Examples per chunk (the ghost-batch size); the batch's last chunk may be smaller. */
  chunkSize: positive,
  /** Training step: a key of the dropout masks. */
  step: v.pipe(v.number(), v.safeInteger(), v.minValue(0), v.maxValue(0xffffffff)),
  /** Job seed: a key of the dropout masks. */
  seed: count,
  /**
   * Deterministic reduction: return the gradients of the canonical-tree blocks this shard covers
   * (`blocks`) rather than one sum (`gradients`), so the coordinator can finish the tree in the
   * same order whatever the sharding (core/reduce-tree.ts). Needs `firstChunk` and `totalChunks`.
   * Without it the worker returns one sum per shard and may compute weight gradients over the whole
   * shard at once (faster, but the bits then depend on the sharding).
   */
  deterministic: v.optional(v.boolean(), false),
  /** Global chunk index (within the batch) of this shard's first chunk. */
  firstChunk: v.optional(v.pipe(count, v.maxValue(MAX_CHUNKS - 1))),
  /** Number of chunks in the whole batch. */
  totalChunks: v.optional(v.pipe(positive, v.maxValue(MAX_CHUNKS))),
  /** Backend to compute on; the worker's default (wasm) when absent. 409 if it lacks it. */
  backend,
}));

/** Per-chunk scalars of a shard, in chunk order. */
const ChunkStatsSchema = v.object({
  /** Examples per chunk. */
  count: int32Tensor,
  /** Sum of the per-example losses of each chunk (float64, as the engine keeps them). */
  loss: float64Tensor,
  /** Correct predictions per chunk. */
  correct: int32Tensor,
});

/** Moments of every chunk of one batch-norm layer, before normalization (core/model/batch-norm.ts). */
const ChunkMomentsSchema = v.object({ count: int32Tensor, mean: float32Tensor, m2: float32Tensor });

/**
 * Where a worker spent its time, in milliseconds: reading the body (including most of its
 * transfer), verifying the signature (the main-thread part: Web Crypto's copy of the body, and
 * whatever of the hashing did not overlap with decoding), decoding and validating, waiting for the
 * compute queue, computing, encoding the reply. `encodeMs` is written into the encoded bytes after
 * encoding (see encode-reply.ts in edge-functions/).
 */
const TimingSchema = v.object({
  readMs: anyNumber,
  verifyMs: anyNumber,
  decodeMs: anyNumber,
  queueMs: anyNumber,
  computeMs: anyNumber,
  encodeMs: anyNumber,
});

const BlockSchema = v.object({
  /** Global index of the block's first chunk. */
  start: count,
  /** Chunks in the block. */
  count: positive,
  /** Gradient sums over the block's chunks, in its canonical (sub)tree order. */
  gradients: named(float32Tensor),
});

export const GradientsResponseSchema: v.GenericSchema<GradientsResponse, GradientsResponse> = exactSchema<GradientsResponse, GradientsResponse>()(v.object({
  protocol,
  /** Backend that computed it. */
  backend: v.string(),
  /** Examples in the shard. */
  count,
  /** Σ of per-example losses (chunk sums combined in canonical tree order, float64). */
  lossSum: anyNumber,
  correct: count,
  chunks: ChunkStatsSchema,
  /** Gradient sums over the shard (non-deterministic mode). */
  gradients: v.optional(named(float32Tensor)),
  /** Gradient sums of the canonical-tree blocks the shard covers, in order (deterministic mode). */
  blocks: v.optional(v.array(BlockSchema)),
  /** Chunk moments of every batch-norm layer, by layer (`batchnorm{i}`). */
  batchNorm: v.record(v.string(), ChunkMomentsSchema),
  timing: TimingSchema,
}));

// ---------------------------------------------------------------------------------------------
// POST /v1/evaluate

export const EvaluateRequestSchema: v.GenericSchema<EvaluateRequestInput, EvaluateRequest> = exactSchema<EvaluateRequestInput, EvaluateRequest>()(v.strictObject({
  protocol,
  model: modelSpec,
  parameters: named(finiteFloat32Tensor),
  /** Batch-norm running statistics; required when the model has batch norm. */
  batchNorm: v.optional(named(finiteFloat32Tensor)),
  inputs: finiteFloat32Tensor,
  labels: v.variant("dtype", [int32Tensor, finiteFloat32Tensor]),
  /** Examples per chunk: only bounds the size of one tensor pass (inference has no chunk statistics). */
  chunkSize: positive,
  /** Also return the model outputs (probabilities for softmax/sigmoid, values for linear). */
  outputs: v.optional(v.boolean(), false),
  backend,
}));

export const EvaluateResponseSchema: v.GenericSchema<EvaluateResponse, EvaluateResponse> = exactSchema<EvaluateResponse, EvaluateResponse>()(v.object({
  protocol,
  backend: v.string(),
  count,
  lossSum: anyNumber,
  correct: count,
  chunks: ChunkStatsSchema,
  /** float32 [m, K] when asked for. */
  outputs: v.optional(float32Tensor),
  timing: TimingSchema,
}));

// ---------------------------------------------------------------------------------------------
// POST /v1/rounds

/**
 * The inner optimizer state of a replica on the wire: the number of updates applied so far (Adam's
 * bias corrections count them) and the direction's moments by name (`v`, `s`, ...), each a record
 * of tensors shaped like the parameters. Absent in a request: a fresh state.
 */
const InnerStateSchema = v.strictObject({
  step: count,
  moments: v.record(v.string(), named(finiteFloat32Tensor)),
});

const optimizerSpec = v.custom<OptimizerSpec>(
  (x) => typeof x === "object" && x !== null && !Array.isArray(x),
  "must be an optimizer spec (a map with type and learningRate)",
);

/**
 * One replica's inner steps of a local-step round (core/round.ts): from `parameters`,
 * `batchNorm` and `innerState`, the steps [step, step + S) on the rows of `inputs` cut into
 * consecutive steps of `stepExamples[h]` rows, each with its own learning rate.
 */
export const RoundRequestSchema: v.GenericSchema<RoundRequestInput, RoundRequest> = exactSchema<RoundRequestInput, RoundRequest>()(v.strictObject({
  protocol,
  model: modelSpec,
  /** The replica's parameters at the first step of this request. */
  parameters: named(finiteFloat32Tensor),
  /** The replica's batch-norm running statistics; required when the model has batch norm. */
  batchNorm: v.optional(named(finiteFloat32Tensor)),
  /** The inner optimizer (the job's `optimizer`); its learningRate is replaced by `learningRates`. */
  optimizer: optimizerSpec,
  innerState: v.optional(InnerStateSchema),
  /**
   * Whether the reply carries the replica's inner state (default true). The coordinator says false
   * where it will not use it (`innerState: "reset"`, a round's last request): Adam's two moments
   * are as large as the parameters. Only to workers whose /v1/health says `returnInnerState`.
   */
  returnInnerState: v.optional(v.boolean()),
  /** The job's L2/L1 penalty (core/model/regularization.ts). */
  regularization: v.optional(v.strictObject({ l2: v.optional(v.pipe(v.number(), v.finite(), v.minValue(0))), l1: v.optional(v.pipe(v.number(), v.finite(), v.minValue(0))) })),
  /** float32 [E, ...input] (or uint8 codes, as in /v1/gradients): the rows of every step of this request, step after step. */
  inputs: trainingInputs,
  ...inputDecoding,
  labels: v.variant("dtype", [int32Tensor, finiteFloat32Tensor]),
  /** int32 [E]: global example index of each row (a key of its dropout masks). */
  indices: int32Tensor,
  /** int32 [S]: rows of each step (≥ 1 each, summing to E). */
  stepExamples: int32Tensor,
  /** float64 [S]: the learning rate of each step (the job's schedule at that inner step). */
  learningRates: float64Tensor,
  /** int32 [S]: the m of each step's penalty λ/(2m)·Σ‖W‖²: the rows of the whole step over all replicas. */
  penaltyExamples: int32Tensor,
  /** Global inner-step number of the first step: a key of the dropout masks. */
  step: v.pipe(v.number(), v.safeInteger(), v.minValue(0), v.maxValue(0xffffffff)),
  seed: count,
  chunkSize: positive,
  /** Exact per-chunk gradients summed in canonical tree order (see GradientsRequestSchema). */
  deterministic: v.optional(v.boolean(), false),
  backend,
}));

/** Per-step scalars of a round, in step order. */
const StepStatsSchema = v.object({
  count: int32Tensor,
  /** Σ of the per-example losses of each step (float64). */
  loss: float64Tensor,
  correct: int32Tensor,
  /** 1 where the step's gradient was not finite and its update was skipped. */
  skipped: int32Tensor,
});

export const RoundResponseSchema: v.GenericSchema<RoundResponse, RoundResponse> = exactSchema<RoundResponse, RoundResponse>()(v.object({
  protocol,
  backend: v.string(),
  /** The replica's parameters after the request's last step. */
  parameters: named(float32Tensor),
  batchNorm: v.record(v.string(), float32Tensor),
  /** Absent when the request said `returnInnerState: false`. */
  innerState: v.optional(v.object({ step: count, moments: v.record(v.string(), named(float32Tensor)) })),
  steps: StepStatsSchema,
  timing: TimingSchema,
}));

// ---------------------------------------------------------------------------------------------
// GET /v1/health (JSON) and errors (JSON)

const LimitsSchema = v.object({
  maxBodyBytes: positive,
  maxExamples: positive,
  maxActivations: positive,
  maxChunkGradients: positive,
  maxInFlight: positive,
  maxUnits: positive,
  maxLayers: positive,
  maxParameters: positive,
  maxInputFeatures: positive,
  /** Absent from workers that predate /v1/rounds. */
  maxRoundExamples: v.optional(positive),
});

export const HealthResponseSchema: v.GenericSchema<HealthResponse, HealthResponse> = exactSchema<HealthResponse, HealthResponse>()(v.object({
  protocol,
  /** `deno`, `node`, `workerd`, ... */
  runtime: v.string(),
  /** edgeprop version of the worker. */
  version: v.string(),
  /** Backend used when a request names none. */
  backend: v.string(),
  /** Backends this runtime can compute on. */
  backends: v.array(v.string()),
  /** Whether the wasm backend runs WebAssembly SIMD. */
  simd: v.boolean(),
  /** `hmac-sha256` when requests must be signed, `none` for an insecure local worker. */
  auth: v.picklist(["hmac-sha256", "none"]),
  /**
   * Whether this health request's own signature was verified: a signed health check proves the
   * caller's secret (a wrong one is a 401). False for an unsigned request or an insecure worker;
   * absent from workers that predate signed health checks.
   */
  authenticated: v.optional(v.boolean()),
  /**
   * Whether training requests may carry uint8 input codes (`inputValues`, `inputNormalization`):
   * absent from workers that predate them, which the coordinator then sends float32 rows.
   */
  inputCodes: v.optional(v.boolean()),
  /**
   * Whether round requests may say `returnInnerState: false`: absent from workers that predate it
   * (their strict schema would refuse the field), which the coordinator then never sends it.
   */
  returnInnerState: v.optional(v.boolean()),
  limits: LimitsSchema,
}));

export const ErrorBodySchema: v.GenericSchema<ErrorBody, ErrorBody> = exactSchema<ErrorBody, ErrorBody>()(v.object({
  error: v.object({ code: v.string(), message: v.string(), field: v.optional(v.string()) }),
}));

// ---------------------------------------------------------------------------------------------
// Validation with errors that name the field

/** `a.b[2].c` from a valibot issue path (record keys such as `dense0.W` stay as they are). */
function fieldOf(issue: v.BaseIssue<unknown>): string | undefined {
  if (!issue.path) return undefined;
  let field = "";
  for (const item of issue.path) {
    if (item.type === "array") field += `[${String(item.key)}]`;
    else field += field ? `.${String(item.key)}` : String(item.key);
  }
  return field;
}

/**
 * Validates a decoded value against a message schema. Throws a WireError: `invalid_body` when it
 * is not a map, `unsupported_protocol` when `protocol` is not 1, `invalid_field` naming the first
 * field that does not match.
 */
export function validateMessage<S extends v.GenericSchema>(schema: S, value: unknown, what: string): v.InferOutput<S> {
  if (typeof value !== "object" || value === null || Array.isArray(value) || ArrayBuffer.isView(value)) {
    throw new WireError("invalid_body", `Cannot read ${what}: the body must be a MessagePack map, got ${describeValue(value)}`);
  }
  const version = (value as Record<string, unknown>).protocol;
  if (version !== PROTOCOL) {
    throw new WireError(
      "unsupported_protocol",
      `Cannot read ${what}: 'protocol' must be ${PROTOCOL}, current value is ${describeValue(version)}`,
      "protocol",
    );
  }
  const result = v.safeParse(schema, value, { abortEarly: true });
  if (result.success) return result.output;
  const issue = result.issues[0];
  const field = fieldOf(issue);
  throw new WireError("invalid_field", `Cannot read ${what}: '${field ?? "(body)"}' ${phrase(issue)}`, field);
}

/** An issue in the style of core's validators: "must be X, current value is Y". */
function phrase(issue: v.BaseIssue<unknown>): string {
  if (issue.type === "strict_object" && issue.expected === "never") return "is not a known field";
  if (issue.input === undefined && issue.path?.at(-1)?.value === undefined) return "is required but missing";
  // Custom checks (tensor shapes, finiteness, typed arrays) already phrase their message.
  if (issue.type === "custom" || issue.type === "check" || issue.expected === null) return issue.message;
  return `must be ${issue.expected}, current value is ${issue.received}`;
}

/** Decodes MessagePack bytes, turning a decoder failure into a WireError (`invalid_body`). */
export function decodeBody(bytes: Uint8Array, what: string, arena?: DecodeArena): unknown {
  if (bytes.length === 0) throw new WireError("invalid_body", `Cannot read ${what}: the body is empty`);
  try {
    return decode(bytes, arena);
  } catch (error) {
    throw new WireError("invalid_body", `Cannot read ${what}: the body is not valid MessagePack (${(error as Error).message})`);
  }
}

/** Decodes and validates a `/v1/gradients` reply. */
export function decodeGradientsResponse(bytes: Uint8Array): GradientsResponse {
  return validateMessage(GradientsResponseSchema, decodeBody(bytes, "gradients reply"), "gradients reply");
}

/** Decodes and validates a `/v1/evaluate` reply. */
export function decodeEvaluateResponse(bytes: Uint8Array): EvaluateResponse {
  return validateMessage(EvaluateResponseSchema, decodeBody(bytes, "evaluate reply"), "evaluate reply");
}

/** Decodes and validates a `/v1/rounds` reply. */
export function decodeRoundResponse(bytes: Uint8Array): RoundResponse {
  return validateMessage(RoundResponseSchema, decodeBody(bytes, "round reply"), "round reply");
}

/** Validates a parsed `/v1/health` JSON reply. */
export function parseHealth(value: unknown): HealthResponse {
  return validateMessage(HealthResponseSchema, value, "health reply");
}
