/**
 * The second validation step of a request: against its model. The schema (messages.ts) has checked
 * types and that every tensor's data fits its shape; here the model spec is parsed with core's
 * parseModelSpec under the worker's limits, and everything else is checked against the plan:
 * parameter names and shapes, input width, labels, example indices, the chunk layout of
 * deterministic mode and the shard limits. Nothing that passes can make the engine throw on its
 * input checks, so engine errors after this step are internal failures (5xx), not client errors.
 */
import { decodeInputs, MAX_CODES } from "../data/input-codes.ts";
import type { Normalization } from "../data/normalize.ts";
import { DEFAULT_WORKER_LIMITS, type WorkerLimits } from "../limits.ts";
import { parseModelSpec, planModel, type ModelPlan, type ParameterInfo } from "../model/spec.ts";
import { type AnyDescentOptimizer, optimizer } from "../optim/from-spec.ts";
import {
  decodeBody,
  EvaluateRequestSchema,
  GradientsRequestSchema,
  RoundRequestSchema,
  validateMessage,
  type EvaluateRequest,
  type GradientsRequest,
  type InputNormalizationMessage,
  type RoundRequest,
} from "./messages.ts";
import type { DecodeArena } from "./codec.ts";
import { sizeOfShape, type Float32Tensor, type Int32Tensor, type Uint8Tensor, wireFloat32 } from "./tensor.ts";
import { firstNonFinite } from "../validate.ts";
import { ValidationError } from "../validation-error.ts";
import { WireError } from "./wire-error.ts";

/** A request as the engine takes it: inputs decoded to float32 rows, the decoding fields gone. */
type Decoded<R> = Omit<R, "inputs" | "inputValues" | "inputNormalization"> & { readonly inputs: Float32Tensor };

export interface CheckedGradients {
  readonly request: Decoded<GradientsRequest>;
  readonly plan: ModelPlan;
}

export interface CheckedEvaluate {
  readonly request: EvaluateRequest;
  readonly plan: ModelPlan;
}

export interface CheckedRound {
  readonly request: Decoded<RoundRequest>;
  readonly plan: ModelPlan;
  /** The inner optimizer built from `request.optimizer` (its direction is what a round uses). */
  readonly inner: AnyDescentOptimizer;
}

/**
 * Decodes, validates and plans a `/v1/gradients` request body. Throws a WireError naming the field.
 * With `arena`, its tensors live in the arena's memory (see DecodeArena in codec.ts).
 */
export function decodeGradientsRequest(bytes: Uint8Array, limits: WorkerLimits = DEFAULT_WORKER_LIMITS, arena?: DecodeArena): CheckedGradients {
  const what = "gradients request";
  return checkGradientsRequest(validateMessage(GradientsRequestSchema, decodeBody(bytes, what, arena), what), limits);
}

/** Decodes, validates and plans a `/v1/evaluate` request body (see decodeGradientsRequest). */
export function decodeEvaluateRequest(bytes: Uint8Array, limits: WorkerLimits = DEFAULT_WORKER_LIMITS, arena?: DecodeArena): CheckedEvaluate {
  const what = "evaluate request";
  return checkEvaluateRequest(validateMessage(EvaluateRequestSchema, decodeBody(bytes, what, arena), what), limits);
}

/** Decodes, validates and plans a `/v1/rounds` request body (see decodeGradientsRequest). */
export function decodeRoundRequest(bytes: Uint8Array, limits: WorkerLimits = DEFAULT_WORKER_LIMITS, arena?: DecodeArena): CheckedRound {
  const what = "round request";
  return checkRoundRequest(validateMessage(RoundRequestSchema, decodeBody(bytes, what, arena), what), limits);
}

/**
 * Checks a schema-valid round request against its model: parameters, batch-norm state, the inner
 * optimizer and its state, the examples and their split into steps. Every step must fit what a
 * gradient shard may hold (maxExamples, maxActivations, maxChunkGradients), and the request's
 * examples together `maxRoundExamples` (the compute budget of one request).
 */
export function checkRoundRequest(request: RoundRequest, limits: WorkerLimits = DEFAULT_WORKER_LIMITS): CheckedRound {
  const what = "round request";
  const plan = planOf(request.model, limits, what);
  checkNamed(request.parameters, plan.parameters, "parameters", what);
  if (plan.batchNormState.length > 0 || request.batchNorm) {
    if (!request.batchNorm) fail(what, "batchNorm", `is required (the model has batch norm: running statistics ${plan.batchNormState.map((p) => p.name).join(", ")})`);
    checkNamed(request.batchNorm, plan.batchNormState, "batchNorm", what);
  }
  let inner: AnyDescentOptimizer;
  try {
    inner = optimizer(request.optimizer);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    const field = error.field === undefined ? "optimizer" : error.field.startsWith("optimizer") ? error.field : `optimizer.${error.field}`;
    throw new WireError("invalid_field", `Cannot read ${what}: ${error.message}`, field);
  }
  if (request.innerState) {
    const expected = Object.keys(inner.direction.init({})).sort();
    const moments = request.innerState.moments;
    const given = Object.keys(moments).sort();
    if (given.join() !== expected.join()) {
      fail(what, "innerState.moments", `must hold ${expected.length ? expected.map((k) => `'${k}'`).join(", ") : "no moments"} for optimizer '${request.optimizer.type}', current keys are ${given.length ? given.map((k) => `'${k}'`).join(", ") : "none"}`);
    }
    for (const key of expected) checkNamed(moments[key], plan.parameters, `innerState.moments.${key}`, what);
  }
  const total = checkExamples(plan, request.inputs, request.labels, { ...limits, maxExamples: limits.maxRoundExamples, maxActivations: Number.MAX_SAFE_INTEGER }, what);
  checkIndices(request.indices, total, what);
  const inputs = decodedInputs(request, plan, what);
  const counts = request.stepExamples;
  const steps = counts.shape.length === 1 ? counts.shape[0] : -1;
  if (steps < 1) fail(what, "stepExamples.shape", `must be [S] with S ≥ 1 steps, current value is ${shapeText(counts.shape)}`);
  for (const [field, tensor] of [["learningRates", request.learningRates], ["penaltyExamples", request.penaltyExamples]] as const) {
    if (tensor.shape.length !== 1 || tensor.shape[0] !== steps) fail(what, `${field}.shape`, `must be [${steps}] (one per step of stepExamples), current value is ${shapeText(tensor.shape)}`);
  }
  const perExample = plan.inputSize + plan.widths.reduce((a, b) => a + b, 0);
  let sum = 0;
  for (let h = 0; h < steps; h++) {
    const m = counts.data[h];
    if (!(m >= 1)) fail(what, "stepExamples.data", `must hold step sizes ≥ 1, element ${h} is ${m}`);
    if (m > limits.maxExamples) fail(what, "stepExamples.data", `element ${h} is a step of ${m} examples, more than the worker's limit of ${limits.maxExamples}`, "limit_exceeded");
    if (m * perExample > limits.maxActivations) {
      fail(what, "stepExamples.data", `element ${h} needs ${m * perExample} activations (${m} examples × ${perExample} units), more than the worker's limit of ${limits.maxActivations}`, "limit_exceeded");
    }
    if (Math.ceil(m / request.chunkSize) * plan.parameterCount > limits.maxChunkGradients) {
      fail(what, "chunkSize", `makes ${Math.ceil(m / request.chunkSize)} chunks in step ${h} of a ${plan.parameterCount}-parameter model, more per-chunk gradient values than the worker's limit of ${limits.maxChunkGradients}`, "limit_exceeded");
    }
    const rate = request.learningRates.data[h];
    if (!(rate >= 0 && rate < Infinity)) fail(what, "learningRates.data", `must hold finite learning rates ≥ 0, element ${h} is ${rate}`);
    if (!(request.penaltyExamples.data[h] >= 1)) fail(what, "penaltyExamples.data", `must hold example counts ≥ 1, element ${h} is ${request.penaltyExamples.data[h]}`);
    sum += m;
  }
  if (sum !== total) fail(what, "stepExamples", `sums to ${sum}, but the request has ${total} examples`);
  if (request.step + steps > 0x100000000) fail(what, "step", `plus ${steps} steps must stay below 2^32, current value is ${request.step}`);
  return { request: withInputs(request, plan, inputs), plan, inner };
}

/** Checks a schema-valid gradients request against its model; returns it with the parsed spec. */
export function checkGradientsRequest(request: GradientsRequest, limits: WorkerLimits = DEFAULT_WORKER_LIMITS): CheckedGradients {
  const what = "gradients request";
  const plan = planOf(request.model, limits, what);
  checkNamed(request.parameters, plan.parameters, "parameters", what);
  if (request.batchNorm) checkNamed(request.batchNorm, plan.batchNormState, "batchNorm", what);
  const m = checkExamples(plan, request.inputs, request.labels, limits, what);
  checkIndices(request.indices, m, what);
  const inputs = decodedInputs(request, plan, what);
  const chunks = Math.ceil(m / request.chunkSize);
  if (chunks * plan.parameterCount > limits.maxChunkGradients) {
    fail(what, "chunkSize", `makes ${chunks} chunks of a ${plan.parameterCount}-parameter model, whose per-chunk gradients (${chunks * plan.parameterCount} values) exceed the worker's limit of ${limits.maxChunkGradients}: send fewer chunks per shard`, "limit_exceeded");
  }
  if (request.deterministic) checkChunkLayout(request, m, what);
  return { request: withInputs(request, plan, inputs), plan };
}

/** Checks a schema-valid evaluate request against its model; returns it with the parsed spec. */
export function checkEvaluateRequest(request: EvaluateRequest, limits: WorkerLimits = DEFAULT_WORKER_LIMITS): CheckedEvaluate {
  const what = "evaluate request";
  const plan = planOf(request.model, limits, what);
  checkNamed(request.parameters, plan.parameters, "parameters", what);
  if (plan.batchNormState.length > 0 || request.batchNorm) {
    if (!request.batchNorm) {
      throw new WireError("invalid_field", `Cannot read ${what}: 'batchNorm' is required (the model has batch norm: running statistics ${plan.batchNormState.map((s) => s.name).join(", ")})`, "batchNorm");
    }
    checkNamed(request.batchNorm, plan.batchNormState, "batchNorm", what);
  }
  checkExamples(plan, request.inputs, request.labels, limits, what);
  return { request: { ...request, model: plan.spec }, plan };
}

function fail(what: string, field: string, message: string, code: "invalid_field" | "limit_exceeded" = "invalid_field"): never {
  throw new WireError(code, `Cannot read ${what}: '${field}' ${message}`, field);
}

function planOf(model: unknown, limits: WorkerLimits, what: string): ModelPlan {
  try {
    return planModel(parseModelSpec(model, { path: "model", limits }), { path: "model", limits });
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    throw new WireError("invalid_field", `Cannot read ${what}: ${error.message.replace(/^Cannot build model: /, "")}`, error.field ?? "model");
  }
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

/** Exactly the tensors `expected`, each with exactly its shape (finiteness is the schema's). */
function checkNamed(
  tensors: Readonly<Record<string, Float32Tensor>>,
  expected: readonly ParameterInfo[],
  path: string,
  what: string,
): void {
  for (const p of expected) {
    const t = tensors[p.name];
    if (t === undefined) fail(what, `${path}.${p.name}`, `is missing (the model needs shape ${shapeText(p.shape)})`);
    if (t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i])) {
      fail(what, `${path}.${p.name}.shape`, `must be ${shapeText(p.shape)} for this model, current value is ${shapeText(t.shape)}`);
    }
  }
  if (Object.keys(tensors).length !== expected.length) {
    const known = new Set(expected.map((p) => p.name));
    const extra = Object.keys(tensors).find((name) => !known.has(name))!;
    fail(what, `${path}.${extra}`, `is not a tensor of this model (expected ${expected.map((p) => p.name).join(", ") || "none"})`);
  }
}

/** The request with its parsed model spec and its inputs as float32 rows. */
function withInputs<R extends GradientsRequest | RoundRequest>(request: R, plan: ModelPlan, inputs: Float32Tensor): Decoded<R> {
  const { inputValues: _values, inputNormalization: _normalization, ...rest } = request;
  return { ...rest, model: plan.spec, inputs } as unknown as Decoded<R>;
}

/**
 * The float32 rows of a request's inputs: float32 as sent, or uint8 codes looked up in
 * `inputValues` and normalized with `inputNormalization` (core/data/input-codes.ts). Checks that
 * the decoding fields come only with codes, that the table has 1..256 values and holds every
 * code, that the statistics have the model's input width with nonzero scales, and that the rows
 * come out finite.
 */
function decodedInputs(request: GradientsRequest | RoundRequest, plan: ModelPlan, what: string): Float32Tensor {
  const { inputs, inputValues, inputNormalization } = request;
  if (inputs.dtype === "float32") {
    if (inputValues) fail(what, "inputValues", "is only for uint8 inputs, but 'inputs' is float32");
    if (inputNormalization) fail(what, "inputNormalization", "is only for uint8 inputs, but 'inputs' is float32");
    return inputs;
  }
  const codes = (inputs as Uint8Tensor).data;
  let values: Float32Array | null = null;
  if (inputValues) {
    const v = inputValues.data.length;
    if (inputValues.shape.length !== 1 || v < 1 || v > MAX_CODES) fail(what, "inputValues.shape", `must be [V] with 1 ≤ V ≤ ${MAX_CODES}, current value is ${shapeText(inputValues.shape)}`);
    values = inputValues.data;
    for (let i = 0; i < codes.length; i++) {
      if (codes[i] >= v) fail(what, "inputs.data", `must hold codes below ${v} (the values in 'inputValues'), element ${i} is ${codes[i]}`);
    }
  }
  const stats = inputNormalization ? normalizationOf(inputNormalization, plan.inputSize, what) : null;
  const rows = decodeInputs(codes, values, stats);
  const bad = firstNonFinite(rows);
  if (bad >= 0) fail(what, "inputNormalization", `makes input element ${bad} non-finite (${rows[bad]})`);
  return wireFloat32(rows, inputs.shape);
}

function normalizationOf(message: InputNormalizationMessage, width: number, what: string): Normalization {
  const [shift, scale] = message.kind === "standardize"
    ? [["mean", message.mean], ["std", message.std]] as const
    : [["min", message.min], ["range", message.range]] as const;
  for (const [name, t] of [shift, scale]) {
    if (t.shape.length !== 1 || t.shape[0] !== width) fail(what, `inputNormalization.${name}.shape`, `must be [${width}] (the model's input width), current value is ${shapeText(t.shape)}`);
  }
  const zero = scale[1].data.findIndex((x) => x === 0);
  if (zero >= 0) fail(what, `inputNormalization.${scale[0]}.data`, `must hold nonzero scales, element ${zero} is 0`);
  return message.kind === "standardize"
    ? { kind: "standardize", mean: message.mean.data, std: message.std.data }
    : { kind: "minmax", min: message.min.data, range: message.range.data };
}

/** Inputs [m, ...] with the model's width, labels of the output head, shard limits. Returns m. */
function checkExamples(
  plan: ModelPlan,
  inputs: Float32Tensor | Uint8Tensor,
  labels: Float32Tensor | Int32Tensor,
  limits: WorkerLimits,
  what: string,
): number {
  const m = inputs.shape[0];
  if (inputs.shape.length < 2 || m === undefined || m < 1 || sizeOfShape(inputs.shape.slice(1)) !== plan.inputSize) {
    fail(what, "inputs.shape", `must be [m, ${plan.spec.input.join(", ")}] or [m, ${plan.inputSize}] with m ≥ 1, current value is ${shapeText(inputs.shape)}`);
  }
  if (m > limits.maxExamples) {
    fail(what, "inputs.shape", `has ${m} examples, more than the worker's limit of ${limits.maxExamples}`, "limit_exceeded");
  }
  const activations = m * (plan.inputSize + plan.widths.reduce((a, b) => a + b, 0));
  if (activations > limits.maxActivations) {
    fail(what, "inputs.shape", `needs ${activations} activations (${m} examples × ${activations / m} units), more than the worker's limit of ${limits.maxActivations}: send fewer examples`, "limit_exceeded");
  }
  const K = plan.outputs;
  if (plan.spec.output === "linear") {
    if (labels.dtype !== "float32" || labels.shape.length !== 2 || labels.shape[0] !== m || labels.shape[1] !== K) {
      fail(what, "labels", `must be float32 [${m}, ${K}] targets for a linear output, current value is ${labels.dtype} ${shapeText(labels.shape)}`);
    }
  } else {
    const classes = plan.spec.output === "sigmoid" ? 2 : K;
    if (labels.dtype !== "int32" || labels.shape.length !== 1 || labels.shape[0] !== m) {
      fail(what, "labels", `must be int32 [${m}] class indices for a ${plan.spec.output} output, current value is ${labels.dtype} ${shapeText(labels.shape)}`);
    }
    const data = labels.data;
    for (let i = 0; i < data.length; i++) {
      if (!(data[i] >= 0 && data[i] < classes)) {
        fail(what, "labels.data", `must hold class indices in [0, ${classes - 1}], element ${i} is ${data[i]}`);
      }
    }
  }
  return m;
}

function checkIndices(indices: Int32Tensor, m: number, what: string): void {
  if (indices.shape.length !== 1 || indices.shape[0] !== m) {
    fail(what, "indices.shape", `must be [${m}] (one global example index per input row), current value is ${shapeText(indices.shape)}`);
  }
  const data = indices.data;
  for (let i = 0; i < data.length; i++) {
    if (data[i] < 0) fail(what, "indices.data", `must hold example indices ≥ 0, element ${i} is ${data[i]}`);
  }
}

/**
 * Deterministic mode: the shard is chunks [firstChunk, firstChunk + C) of a batch of totalChunks,
 * and only the batch's last chunk may be partial (chunks never straddle workers).
 */
function checkChunkLayout(request: GradientsRequest, m: number, what: string): void {
  const { firstChunk, totalChunks, chunkSize } = request;
  if (firstChunk === undefined) fail(what, "firstChunk", "is required when 'deterministic' is true");
  if (totalChunks === undefined) fail(what, "totalChunks", "is required when 'deterministic' is true");
  const chunks = Math.ceil(m / chunkSize);
  if (firstChunk + chunks > totalChunks) {
    fail(what, "totalChunks", `must be ≥ firstChunk + ${chunks} (this shard's ${m} examples make ${chunks} chunks of ${chunkSize}), current value is ${totalChunks}`);
  }
  if (m % chunkSize !== 0 && firstChunk + chunks !== totalChunks) {
    fail(what, "inputs.shape", `has ${m} examples, not a multiple of chunkSize ${chunkSize}: only the batch's last chunk (index ${totalChunks - 1}) may be partial, and this shard ends at chunk ${firstChunk + chunks - 1}`);
  }
}
