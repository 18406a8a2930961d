/**
 * Loss and error of a split in inference mode through a pool: one evaluation pass (core/work.ts)
 * per split, and the final train/dev/test metrics of a model or an ensemble.
 */
import type { Dataset } from "../../core/data/mod.ts";
import { averageOutputs } from "../../core/ensemble.ts";
import type { FinalMetrics } from "../../core/job/api.ts";
import type { JobSpec } from "../../core/job/spec.ts";
import { predictedClass } from "../../core/metrics.ts";
import type { NamedArrays } from "../../core/model/parameters.ts";
import type { ModelPlan } from "../../core/model/spec.ts";
import { treeReduce } from "../../core/reduce-tree.ts";
import { wireFloat32, wireInt32, wireTensors } from "../../core/wire/tensor.ts";
import type { EvaluationTask } from "../../core/work.ts";
import type { WorkerPool } from "../pool/worker-pool.ts";
import { planShards } from "./shard-plan.ts";
import { unwrap } from "./training-error.ts";

/** Rows per evaluation request at most (a multiple of every sane chunk size, independent of the pool). */
const EVAL_ROWS = 1024;

export interface SetEvaluation {
  readonly loss: number;
  /** Null for a linear output. */
  readonly error: number | null;
  readonly outputs?: Float32Array;
}

export interface EvaluationContext {
  readonly spec: JobSpec;
  readonly plan: ModelPlan;
  readonly pool: WorkerPool;
  readonly signal: AbortSignal;
}

/**
 * Loss and error of a whole split in inference mode, in slices that depend on the workers' limits
 * but not on how many workers there are; chunk losses are summed in canonical tree order, so the
 * result does not depend on the pool either.
 */
export async function evaluateSet(
  context: EvaluationContext,
  model: { readonly params: NamedArrays; readonly batchNorm: NamedArrays },
  set: Dataset,
  withOutputs = false,
): Promise<SetEvaluation> {
  const { spec, plan, pool, signal } = context;
  const m = set.shape[0];
  const n = set.shape[1];
  const slices = planShards(m, spec.chunkSize, pool.capacity(), plan, { maxExamples: EVAL_ROWS, spread: false });
  const labels = set.labels.values;
  const k = labels.length / m;
  const task: EvaluationTask = {
    context: {
      model: plan.spec,
      parameters: wireTensors(plan.parameters, model.params),
      batchNorm: wireTensors(plan.batchNormState, model.batchNorm),
      chunkSize: spec.chunkSize,
      outputs: withOutputs,
      backend: spec.workers.backend,
    },
    shards: slices.map(({ rowStart: a, rowEnd: b }) => ({
      inputs: wireFloat32(set.features.subarray(a * n, b * n), [b - a, n]),
      labels: labels instanceof Int32Array ? wireInt32(labels.subarray(a, b), [b - a]) : wireFloat32(labels.subarray(a * k, b * k), [b - a, k]),
    })),
  };
  const values = (await pool.runEvaluation(task, { signal })).outcomes.map(unwrap);
  const chunkLoss = values.flatMap((v) => Array.from(v.chunks.loss.data));
  const lossSum = treeReduce(chunkLoss.length, (c) => chunkLoss[c], (x, y) => x + y);
  const correct = values.reduce((a, v) => a + v.correct, 0);
  let outputs: Float32Array | undefined;
  if (withOutputs) {
    outputs = new Float32Array(m * plan.outputs);
    values.forEach((v, i) => outputs!.set(v.outputs!.data, slices[i].rowStart * plan.outputs));
  }
  return { loss: lossSum / m, error: plan.spec.output === "linear" ? null : 1 - correct / m, outputs };
}

/** Train/dev/test loss and error of the final model (the averaged outputs of an ensemble). */
export async function finalMetrics(
  context: EvaluationContext,
  members: readonly { readonly params: NamedArrays; readonly batchNorm: NamedArrays }[],
  splits: { readonly train: Dataset; readonly dev: Dataset; readonly test: Dataset },
): Promise<FinalMetrics> {
  const { plan } = context;
  const evaluateAll = async (set: Dataset): Promise<SetEvaluation | null> => {
    if (set.shape[0] === 0) return null;
    if (members.length === 1) return evaluateSet(context, members[0], set);
    const outputs = [];
    for (const member of members) outputs.push((await evaluateSet(context, member, set, true)).outputs!);
    return scoreOutputs(plan, averageOutputs(outputs), set);
  };
  const [tr, dv, te] = [await evaluateAll(splits.train), await evaluateAll(splits.dev), await evaluateAll(splits.test)];
  return {
    trainLoss: tr?.loss ?? null,
    trainError: tr?.error ?? null,
    devLoss: dv?.loss ?? null,
    devError: dv?.error ?? null,
    testLoss: te?.loss ?? null,
    testError: te?.error ?? null,
  };
}

/** Loss and error of given outputs (probabilities or values) against a split's labels, in float64. */
export function scoreOutputs(plan: ModelPlan, outputs: Float32Array, set: Dataset): SetEvaluation {
  const m = set.shape[0];
  const K = plan.outputs;
  const labels = set.labels.values;
  let loss = 0;
  let correct = 0;
  const tiny = 1e-12;
  for (let i = 0; i < m; i++) {
    if (plan.spec.output === "softmax") {
      const y = labels[i];
      if (predictedClass(outputs, i, K) === y) correct++;
      loss -= Math.log(Math.max(outputs[i * K + y], tiny));
    } else if (plan.spec.output === "sigmoid") {
      const p = outputs[i], y = labels[i];
      if (predictedClass(outputs, i, 1) === y) correct++;
      loss -= y === 1 ? Math.log(Math.max(p, tiny)) : Math.log(Math.max(1 - p, tiny));
    } else {
      let l = 0;
      for (let k = 0; k < K; k++) l += (outputs[i * K + k] - labels[i * K + k]) ** 2;
      loss += l / K;
    }
  }
  return { loss: loss / m, error: plan.spec.output === "linear" ? null : 1 - correct / m };
}
