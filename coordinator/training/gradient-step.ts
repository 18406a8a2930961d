/**
 * One training step's gradient through a pool (DESIGN.md, "One training step", 2–4): the shard
 * plan, the step as one task (core/work.ts), the canonical reduction of the replies and the
 * central penalty.
 */
import type { JobSpec } from "../../core/job/spec.ts";
import { concatChunkMoments, type ChunkMoments } from "../../core/model/batch-norm.ts";
import type { Batch } from "../../core/model/engine.ts";
import type { NamedArrays } from "../../core/model/parameters.ts";
import { meanPlusPenalty } from "../../core/model/regularization.ts";
import type { ModelPlan } from "../../core/model/spec.ts";
import { addInto, addNamedArraysInto, TreeAccumulator, treeReduce } from "../../core/reduce-tree.ts";
import { wireFloat32, wireInt32, wireTensors, tensorData } from "../../core/wire/tensor.ts";
import type { GradientShard, InputDecoding, StepTask } from "../../core/work.ts";
import { type TrainingBatch, wireRows } from "./gather-batch.ts";
import type { PassTiming, WorkerPool } from "../pool/worker-pool.ts";
import { planShards } from "./shard-plan.ts";
import { unwrap } from "./training-error.ts";

export interface StepResult {
  /** Gradient of the cost: mean over the batch plus the regularization penalty's gradient. */
  readonly gradients: NamedArrays;
  readonly lossSum: number;
  readonly moments: Record<string, ChunkMoments>;
  /** Milliseconds: planning and reducing here, the rest in the pool. */
  readonly timing: { readonly plan: number; readonly reduce: number; readonly pass: PassTiming };
}

export interface StepInput {
  readonly params: NamedArrays;
  /** With codes, the shards carry them and `decoding` says how they decode. */
  readonly batch: Batch | TrainingBatch;
  readonly decoding?: InputDecoding;
  /** Keys of the dropout masks. */
  readonly step: number;
  readonly seed: number;
}

/**
 * The gradient of the cost of one batch computed through a pool. Shards are planned by the pool's
 * capacity; with `deterministic` the result has the same bits however the batch was sharded.
 */
export async function distributedGradient(
  context: { readonly spec: JobSpec; readonly plan: ModelPlan; readonly pool: WorkerPool; readonly signal: AbortSignal },
  input: StepInput,
  now: () => number = () => performance.now(),
): Promise<StepResult> {
  const { spec, plan, pool, signal } = context;
  const { batch } = input;
  const rows = batch.indices instanceof Int32Array ? batch.indices : Int32Array.from(batch.indices);
  const t0 = now();
  const capacity = pool.capacity();
  const plannedShards = planShards(rows.length, spec.chunkSize, capacity, plan);
  // Codes when the batch has them and every worker takes them; the rows' bits are the same either way.
  const compact = "codes" in batch && batch.codes !== null && capacity.inputCodes === true;
  const totalChunks = Math.ceil(rows.length / spec.chunkSize);
  const n = plan.inputSize;
  const k = batch.labels.length / rows.length;
  const shards: GradientShard[] = plannedShards.map(({ rowStart: a, rowEnd: b, firstChunk }) => ({
    inputs: wireRows(batch, a, b, n, compact),
    labels: batch.labels instanceof Int32Array
      ? wireInt32(batch.labels.subarray(a, b), [b - a])
      : wireFloat32(batch.labels.subarray(a * k, b * k), [b - a, k]),
    indices: wireInt32(rows.subarray(a, b), [b - a]),
    firstChunk,
  }));
  const task: StepTask = {
    context: {
      model: plan.spec,
      parameters: wireTensors(plan.parameters, input.params),
      chunkSize: spec.chunkSize,
      step: input.step,
      seed: input.seed,
      deterministic: spec.deterministic,
      totalChunks,
      backend: spec.workers.backend,
      ...(compact ? input.decoding : {}),
    },
    shards,
  };
  const planMs = now() - t0;
  // Deterministic: each reply's blocks join the canonical tree as the reply comes in, so that
  // only the sums on the last reply's path to the root are left once the slowest shard is in.
  // The replies' arrays are this step's alone (WorkerPool), so the sums are made in them.
  const tree = spec.deterministic ? new TreeAccumulator<NamedArrays>(totalChunks, addNamedArraysInto) : null;
  const pass = await pool.runStep(task, {
    signal,
    onOutcome: (_, outcome) => {
      if (outcome.ok && tree) for (const b of outcome.value.blocks ?? []) tree.add(b.start, b.count, tensorData(b.gradients));
    },
  });
  const values = pass.outcomes.map(unwrap);
  const t1 = now();
  const gradients: NamedArrays = {};
  for (const p of plan.parameters) {
    gradients[p.name] = tree
      ? tree.result()[p.name]
      : values.map((v) => v.gradients![p.name].data).reduce<Float32Array>((x, y) => addInto(x, y), new Float32Array(sizeOf(p.shape)));
  }
  const chunkLoss = new Float64Array(totalChunks);
  values.forEach((v, i) => chunkLoss.set(v.chunks.loss.data, plannedShards[i].firstChunk));
  const lossSum = treeReduce(totalChunks, (c) => chunkLoss[c], (x, y) => x + y);
  const moments: Record<string, ChunkMoments> = {};
  for (const name of Object.keys(values[0].batchNorm)) {
    moments[name] = concatChunkMoments(values.map((v) => ({ count: v.batchNorm[name].count.data, mean: v.batchNorm[name].mean.data, m2: v.batchNorm[name].m2.data })));
  }
  // Mean over the batch, then the regularization penalty's gradient, added centrally.
  meanPlusPenalty(plan, gradients, input.params, spec.regularization, rows.length);
  return { gradients, lossSum, moments, timing: { plan: planMs, reduce: now() - t1, pass: pass.timing } };
}

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
