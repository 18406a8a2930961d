/**
 * One shard's reply computed from its request: what an edge function does for `/v1/gradients` and
 * `/v1/evaluate`, minus HTTP. The worker app and the coordinator's in-process pool both call it, so
 * a job gives the same bits in process and on edge functions with the same backend.
 *
 * It takes one shard's wire request (core/work.ts builds it from a task's context and shard).
 * `computeGradientShard` / `evaluateShard` validate it (schema, then against the model plan) and
 * throw a WireError naming the field; the worker, which has already decoded and planned the
 * request, calls `computeCheckedGradients` / `evaluateChecked` directly.
 *
 * Deterministic mode: the engine computes each chunk's gradient on its own and pre-sums only the
 * canonical-tree blocks this shard covers, alignedBlocks(firstChunk, firstChunk + C, totalChunks),
 * each in its own subtree order. The coordinator completes the tree over the blocks of all
 * shards, which gives the same bits as one process summing every chunk, however the batch was
 * split (core/reduce-tree.ts). Without it, one sum per shard (fewer bytes).
 *
 * Runs on the active tfjs backend; the caller selects it and serializes concurrent calls (the
 * backend is process-global). Every tensor is disposed before the promise settles.
 */
import { DEFAULT_WORKER_LIMITS, type WorkerLimits } from "./limits.ts";
import { alignedBlocks } from "./reduce-tree.ts";
import { computeGradients, evaluate, type ChunkStats } from "./model/engine.ts";
import {
  EvaluateRequestSchema,
  GradientsRequestSchema,
  validateMessage,
  type ChunkMomentsMessage,
  type ChunkStatsMessage,
  type EvaluateRequestInput,
  type EvaluateResponse,
  type GradientBlock,
  type GradientsRequestInput,
  type GradientsResponse,
} from "./wire/messages.ts";
import { checkEvaluateRequest, checkGradientsRequest, type CheckedEvaluate, type CheckedGradients } from "./wire/request-check.ts";
import { tensorData, wireFloat32, wireFloat64, wireInt32, wireTensors } from "./wire/tensor.ts";

/** A gradients reply without what the transport adds (protocol, backend, timing). */
export type GradientShardResult = Omit<GradientsResponse, "protocol" | "backend" | "timing">;
/** An evaluate reply without what the transport adds. */
export type EvaluateShardResult = Omit<EvaluateResponse, "protocol" | "backend" | "timing">;

/**
 * Validates a gradients task and computes its reply on the active backend. Throws a WireError
 * (`invalid_field`, `limit_exceeded`, ...) naming the field when the task is wrong.
 */
export function computeGradientShard(task: GradientsRequestInput, limits: WorkerLimits = DEFAULT_WORKER_LIMITS): Promise<GradientShardResult> {
  const request = validateMessage(GradientsRequestSchema, task, "gradients request");
  return computeCheckedGradients(checkGradientsRequest(request, limits));
}

/** Validates an evaluate task and computes its reply on the active backend (see computeGradientShard). */
export function evaluateShard(task: EvaluateRequestInput, limits: WorkerLimits = DEFAULT_WORKER_LIMITS): Promise<EvaluateShardResult> {
  const request = validateMessage(EvaluateRequestSchema, task, "evaluate request");
  return evaluateChecked(checkEvaluateRequest(request, limits));
}

function chunkStats(chunks: ChunkStats): ChunkStatsMessage {
  const c = chunks.count.length;
  return { count: wireInt32(chunks.count, [c]), loss: wireFloat64(chunks.loss, [c]), correct: wireInt32(chunks.correct, [c]) };
}

/** Loss, gradients and batch-norm chunk moments of a planned shard in training mode. */
export async function computeCheckedGradients({ request, plan }: CheckedGradients): Promise<GradientShardResult> {
  const first = request.firstChunk ?? 0;
  const chunks = Math.ceil(request.inputs.shape[0] / request.chunkSize);
  // The canonical-tree blocks this shard holds, in the engine's shard-local chunk numbering.
  const blocks = request.deterministic
    ? alignedBlocks(first, first + chunks, request.totalChunks!).map((b) => ({ start: b.start - first, count: b.count }))
    : undefined;
  const result = await computeGradients(
    plan,
    tensorData(request.parameters),
    { inputs: request.inputs.data, labels: request.labels.data, indices: request.indices.data },
    { step: request.step, seed: request.seed, chunkSize: request.chunkSize, blocks, exactChunks: request.deterministic },
  );
  const batchNorm: Record<string, ChunkMomentsMessage> = {};
  for (const [name, moments] of Object.entries(result.batchNorm)) {
    const c = moments.count.length;
    const units = moments.mean.length / c;
    batchNorm[name] = {
      count: wireInt32(moments.count, [c]),
      mean: wireFloat32(moments.mean, [c, units]),
      m2: wireFloat32(moments.m2, [c, units]),
    };
  }
  const common = {
    count: result.count,
    lossSum: result.lossSum,
    correct: result.correct,
    chunks: chunkStats(result.chunks),
    batchNorm,
  };
  if (!blocks) return { ...common, gradients: wireTensors(plan.parameters, result.gradients ?? result.blocks[0].gradients) };
  const wireBlocks: GradientBlock[] = result.blocks.map((b) => ({
    start: b.start + first,
    count: b.count,
    gradients: wireTensors(plan.parameters, b.gradients),
  }));
  return { ...common, blocks: wireBlocks };
}

/** Inference-mode loss, correct count and optionally outputs of a planned shard. */
export async function evaluateChecked({ request, plan }: CheckedEvaluate): Promise<EvaluateShardResult> {
  const m = request.inputs.shape[0];
  const result = await evaluate(
    plan,
    tensorData(request.parameters),
    tensorData(request.batchNorm ?? {}),
    { inputs: request.inputs.data, labels: request.labels.data, indices: new Int32Array(m) },
    { chunkSize: request.chunkSize, outputs: request.outputs },
  );
  return {
    count: result.count,
    lossSum: result.lossSum,
    correct: result.correct,
    chunks: chunkStats(result.chunks),
    ...(result.outputs ? { outputs: wireFloat32(result.outputs, [m, plan.outputs]) } : {}),
  };
}
