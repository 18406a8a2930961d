/**
 * The shard plan of a step: whole chunks to shards, contiguous in chunk order, as even as the chunk
 * count allows, and none bigger than every worker accepts (examples, activations, per-chunk
 * gradients, body bytes: the limits of GET /v1/health; a model over their maxParameters fits no
 * shard at all). Where the boundaries fall does not change
 * the result in deterministic mode (the reduction follows the canonical tree), only the speed.
 */
import type { ModelPlan } from "../../core/model/spec.ts";
import type { PoolCapacity } from "../pool/worker-pool.ts";

export interface Shard {
  readonly firstChunk: number;
  readonly chunks: number;
  /** Row range in the batch. */
  readonly rowStart: number;
  readonly rowEnd: number;
}

/** Room for the message around the tensors (model spec, names, headers of the typed arrays). */
const BODY_OVERHEAD = 64 * 1024;

/**
 * Bytes of the smallest request a job sends a worker, an upper bound like maxShardExamples': the
 * parameters and batch-norm state, and one chunk of examples. A job whose smallest request is over
 * a worker's `maxBodyBytes` could never train there (checked at submission).
 */
export function minRequestBytes(plan: ModelPlan, chunkSize: number): number {
  const state = plan.batchNormState.reduce((a, p) => a + p.shape[0], 0);
  return 4 * (plan.parameterCount + state) + BODY_OVERHEAD + chunkSize * 4 * (plan.inputSize + plan.outputs + 1);
}

/** Most examples one request may carry for this model under the pool's limits (0: the model itself is too large). */
export function maxShardExamples(plan: ModelPlan, chunkSize: number, limits: PoolCapacity["limits"]): number {
  if (limits.maxParameters !== undefined && plan.parameterCount > limits.maxParameters) return 0;
  let max = limits.maxExamples ?? Number.MAX_SAFE_INTEGER;
  if (limits.maxActivations) max = Math.min(max, Math.floor(limits.maxActivations / (plan.inputSize + plan.widths.reduce((a, b) => a + b, 0))));
  if (limits.maxChunkGradients) max = Math.min(max, Math.floor(limits.maxChunkGradients / plan.parameterCount) * chunkSize);
  if (limits.maxBodyBytes) {
    const state = plan.batchNormState.reduce((a, p) => a + p.shape[0], 0);
    const fixed = 4 * (plan.parameterCount + state) + BODY_OVERHEAD;
    max = Math.min(max, Math.floor((limits.maxBodyBytes - fixed) / (4 * (plan.inputSize + plan.outputs + 1))));
  }
  return max;
}

/** How a planner cuts rows into shards. */
export interface ShardPlanOptions {
  /** No shard above this many examples (besides the workers' limits). */
  readonly maxExamples?: number;
  /**
   * Spread the chunks over every worker (a training step: one shard per worker), or only cut
   * as few shards as the limits allow (an evaluation pass: slices that do not depend on the pool's
   * size, so that neither do its metrics).
   */
  readonly spread?: boolean;
}

/**
 * Plans the shards of `rows` examples cut into chunks of `chunkSize`: a training step's gradient
 * shards and an evaluation pass's slices alike. Throws a RangeError when not even one chunk fits
 * the workers' limits.
 */
export function planShards(rows: number, chunkSize: number, capacity: PoolCapacity, plan: ModelPlan, options: ShardPlanOptions = {}): Shard[] {
  if (capacity.limits.maxParameters !== undefined && plan.parameterCount > capacity.limits.maxParameters) {
    throw new RangeError(`Cannot plan shards: the model has ${plan.parameterCount} parameters, more than the workers take (limits.maxParameters ${capacity.limits.maxParameters} in GET /v1/health); use a smaller model or other workers`);
  }
  const totalChunks = Math.ceil(rows / chunkSize);
  const maxExamples = Math.min(maxShardExamples(plan, chunkSize, capacity.limits), options.maxExamples ?? Number.MAX_SAFE_INTEGER);
  const maxChunks = Math.floor(maxExamples / chunkSize);
  if (maxChunks < 1) {
    throw new RangeError(`Cannot plan shards: one chunk of ${chunkSize} examples of this model exceeds the workers' limits (GET /v1/health); use a smaller chunkSize or a smaller model`);
  }
  const spread = (options.spread ?? true) ? Math.min(Math.max(capacity.workers, 1), totalChunks) : 1;
  const shardCount = Math.max(spread, Math.ceil(totalChunks / maxChunks));
  const shards: Shard[] = [];
  let chunk = 0;
  for (let s = 0; s < shardCount; s++) {
    const chunks = Math.floor(totalChunks / shardCount) + (s < totalChunks % shardCount ? 1 : 0);
    if (chunks === 0) continue;
    shards.push({
      firstChunk: chunk,
      chunks,
      rowStart: chunk * chunkSize,
      rowEnd: Math.min((chunk + chunks) * chunkSize, rows),
    });
    chunk += chunks;
  }
  return shards;
}
