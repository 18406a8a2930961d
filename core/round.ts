/**
 * One replica's part of a local-step round (DESIGN.md, "Local-step rounds"), computed from its
 * request: what an edge function does for `/v1/rounds`, minus HTTP. The worker and the
 * coordinator's in-process pool both call it, so a round has the same bits in both.
 *
 * Each inner step h is a sync-mode step on the replica's rows: the engine's gradient sums over
 * chunks of `chunkSize` (batch norm per chunk, dropout masks keyed by (seed, step + h, global
 * example index, layer)), divided by the step's rows, plus the penalty gradient of the whole
 * step (`penaltyExamples[h]`), then the inner optimizer's direction at `learningRates[h]`
 * (`W ← W − α_h·d`), and the batch-norm running statistics updated with the step's chunk
 * moments. A step whose gradient is not finite is skipped (parameters, statistics and optimizer
 * state unchanged), as applyIfFinite does in sync mode. A round cut into several requests gives
 * the same bits: each request hands on exactly the state the next one starts from.
 *
 * Runs on the active tfjs backend; the caller selects it and serializes concurrent calls.
 */
import { DEFAULT_WORKER_LIMITS, type WorkerLimits } from "./limits.ts";
import { computeGradients } from "./model/engine.ts";
import { updateRunningStats } from "./model/batch-norm.ts";
import type { NamedArrays } from "./model/parameters.ts";
import { meanPlusPenalty } from "./model/regularization.ts";
import { descendInPlace, type DescentState, type Direction } from "./optim/mod.ts";
import { type RoundRequestInput, RoundRequestSchema, type RoundResponse, validateMessage } from "./wire/messages.ts";
import { checkRoundRequest, type CheckedRound } from "./wire/request-check.ts";
import { type Float32Tensor, wireFloat64, wireInt32, wireTensors } from "./wire/tensor.ts";

/** A round reply without what the transport adds (protocol, backend, timing). */
export type RoundShardResult = Omit<RoundResponse, "protocol" | "backend" | "timing">;

/** Validates a round request and computes its reply on the active backend (WireError naming the field when wrong). */
export function computeRoundShard(task: RoundRequestInput, limits: WorkerLimits = DEFAULT_WORKER_LIMITS): Promise<RoundShardResult> {
  const request = validateMessage(RoundRequestSchema, task, "round request");
  return computeCheckedRound(checkRoundRequest(request, limits));
}

/** The inner steps of a planned round request. */
export async function computeCheckedRound({ request, plan, inner }: CheckedRound): Promise<RoundShardResult> {
  const direction = inner.direction as Direction<object>;
  // Copies: the reply's arrays belong to its receiver (WorkerPool), even where no step changed them.
  const params: NamedArrays = copyOf(request.parameters);
  let batchNorm: NamedArrays = copyOf(request.batchNorm ?? {});
  let state: DescentState<object> = request.innerState
    ? { step: request.innerState.step, learningRate: 0, ...Object.fromEntries(Object.entries(request.innerState.moments).map(([name, t]) => [name, copyOf(t)])) }
    : { step: 0, learningRate: 0, ...direction.init(params) };
  const steps = request.stepExamples.data.length;
  const count = new Int32Array(steps), correct = new Int32Array(steps), skipped = new Int32Array(steps);
  const loss = new Float64Array(steps);
  const n = plan.inputSize;
  const k = request.labels.data.length / request.inputs.shape[0];
  const labels = request.labels.data;
  let row = 0;
  for (let h = 0; h < steps; h++) {
    const m = request.stepExamples.data[h];
    const result = await computeGradients(
      plan,
      params,
      {
        inputs: request.inputs.data.subarray(row * n, (row + m) * n),
        labels: labels instanceof Int32Array ? labels.subarray(row, row + m) : labels.subarray(row * k, (row + m) * k),
        indices: request.indices.data.subarray(row, row + m),
      },
      { step: request.step + h, seed: request.seed, chunkSize: request.chunkSize, exactChunks: request.deterministic },
    );
    // The sync step's optimizer at this step's rate: the same arithmetic, so H = 1 rounds match it.
    // In place: the round owns its gradients, moments and parameters (copies of the request's).
    // Without a penalty the mean is taken in the optimizer's pass, with the same bits.
    const reg = request.regularization ?? {};
    const penalized = (reg.l2 ?? 0) !== 0 || (reg.l1 ?? 0) !== 0;
    const sums = penalized ? meanPlusPenalty(plan, result.gradients!, params, reg, m, request.penaltyExamples.data[h]) : result.gradients!;
    const next = descendInPlace(direction, sums, penalized ? 1 : m, state, request.learningRates.data[h], params);
    if (next === null) {
      skipped[h] = 1;
    } else {
      batchNorm = updateRunningStats(plan, batchNorm, result.batchNorm);
      state = next;
    }
    count[h] = m;
    loss[h] = result.lossSum;
    correct[h] = result.correct;
    row += m;
  }
  const { step, learningRate: _, ...moments } = state as DescentState<Record<string, NamedArrays>>;
  return {
    parameters: wireTensors(plan.parameters, params),
    batchNorm: wireTensors(plan.batchNormState, batchNorm),
    ...(request.returnInnerState === false ? {} : {
      innerState: { step, moments: Object.fromEntries(Object.entries(moments).map(([name, t]) => [name, wireTensors(plan.parameters, t)])) },
    }),
    steps: { count: wireInt32(count, [steps]), loss: wireFloat64(loss, [steps]), correct: wireInt32(correct, [steps]), skipped: wireInt32(skipped, [steps]) },
  };
}

function copyOf(tensors: Readonly<Record<string, Float32Tensor>>): NamedArrays {
  const out: NamedArrays = {};
  for (const [name, t] of Object.entries(tensors)) out[name] = t.data.slice();
  return out;
}
