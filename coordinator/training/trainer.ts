/**
 * The training loop of one job (DESIGN.md, "One training step"), independent of transport: it
 * plans shards, hands them to a WorkerPool, reduces the replies in canonical order, applies the
 * regularization penalty and the optimizer centrally, keeps the batch-norm running statistics,
 * evaluates after every epoch and checkpoints. Everything it does is a pure function of the job
 * spec and the checkpointed state, so a resumed job ends with the same bits as an uninterrupted one.
 */
import { augmentBatch, batchOf, type Dataset, epochOrder, normalizeFeatures, stepsPerEpoch } from "../../core/data/mod.ts";
import { diagnose, type Diagnosis } from "../../core/diagnosis.ts";
import { earlyStopping, type EarlyStoppingState, observe } from "../../core/early-stopping.ts";
import { averageOutputs, ensembleSeeds } from "../../core/ensemble.ts";
import { ewa, type EwaState } from "../../core/ewa.ts";
import type { EpochMetrics, FinalMetrics, MetricsEntry, StepMetrics, StepTiming } from "../../core/job/api.ts";
import type { JobSpec } from "../../core/job/spec.ts";
import { concatChunkMoments, type ChunkMoments, updateRunningStats } from "../../core/model/batch-norm.ts";
import type { Batch } from "../../core/model/engine.ts";
import { initBatchNormState, initParameters, type Tensors } from "../../core/model/parameters.ts";
import { penalty } from "../../core/model/regularization.ts";
import type { ModelPlan } from "../../core/model/spec.ts";
import { applyIfFinite, type ApplyIfFiniteState, applyUpdates, optimizer, type Optimizer, withSchedule } from "../../core/optim/mod.ts";
import { addInto, addTensorsInto, TreeAccumulator, treeReduce } from "../../core/reduce-tree.ts";
import { schedule } from "../../core/schedule.ts";
import { PROTOCOL } from "../../core/wire/messages.ts";
import { tensorData, wireFloat32, wireInt32, type WireTensors } from "../../core/wire/tensor.ts";
import type { ShardOutcome, ShardTiming, WorkerPool } from "../pool/worker-pool.ts";
import type { PreparedData } from "./prepared-data.ts";
import { maxShardExamples, planShards } from "./shard-plan.ts";

/** Consecutive non-finite steps after which a job fails as diverged. */
export const MAX_CONSECUTIVE_SKIPS = 5;
/** Rows per evaluation request (a multiple of every sane chunk size, independent of the pool). */
const EVAL_ROWS = 1024;

export interface MemberState {
  readonly member: number;
  readonly seed: number;
  readonly epoch: number;
  /** Next step within `epoch`. */
  readonly stepInEpoch: number;
  /** Steps taken by this member so far (the dropout-mask step key). */
  readonly globalStep: number;
  readonly params: Tensors;
  readonly optimizer: unknown;
  readonly batchNorm: Tensors;
  readonly smoothing: EwaState;
  readonly earlyStopping: EarlyStoppingState<never> | null;
  readonly best: { readonly params: Tensors; readonly batchNorm: Tensors } | null;
  readonly stopped: boolean;
  /** Loss sum and examples of the epoch's steps so far, so a resumed epoch reports what an uninterrupted one does. */
  readonly epochLossSum: number;
  readonly epochExamples: number;
}

/** Everything needed to resume a job: finished members and the one in progress. */
export interface TrainState {
  readonly version: 1;
  readonly finished: readonly { readonly params: Tensors; readonly batchNorm: Tensors }[];
  readonly current: MemberState | null;
}

export type { EpochMetrics, FinalMetrics, MetricsEntry, StepMetrics, StepTiming };

export interface TrainResult {
  readonly members: readonly { readonly params: Tensors; readonly batchNorm: Tensors }[];
  readonly metrics: FinalMetrics;
  readonly diagnosis: Diagnosis | null;
}

export type TrainEvent =
  | { readonly type: "progress"; readonly member: number; readonly members: number; readonly epoch: number; readonly epochs: number; readonly step: number; readonly steps: number }
  | { readonly type: "metrics"; readonly entry: StepMetrics }
  | { readonly type: "epoch"; readonly entry: EpochMetrics }
  | { readonly type: "checkpoint"; readonly member: number; readonly epoch: number; readonly step: number };

export interface TrainerOptions {
  readonly spec: JobSpec;
  readonly plan: ModelPlan;
  readonly data: PreparedData;
  readonly pool: WorkerPool;
  readonly signal: AbortSignal;
  readonly emit: (event: TrainEvent) => void;
  /** Persists a checkpoint; training waits for it. */
  readonly checkpoint: (state: TrainState) => Promise<void>;
  readonly resume?: TrainState | null;
  readonly now?: () => number;
}

/** A job that cannot go on; the message is shown to the user as the job's error. */
export class TrainingError extends Error {
  override name = "TrainingError";
}

export async function train(options: TrainerOptions): Promise<TrainResult> {
  const { spec, plan } = options;
  const now = options.now ?? (() => performance.now());
  const seeds = ensembleSeeds(spec.seed, spec.ensemble.members);
  const finished = [...(options.resume?.finished ?? [])];
  let current = options.resume?.current ?? null;
  for (let member = finished.length; member < seeds.length; member++) {
    const state = current && current.member === member ? current : initialState(spec, plan, member, seeds[member]);
    current = null;
    const done = await trainMember({ ...options, now }, state, finished);
    finished.push(done);
  }
  const metrics = await finalMetrics(options, finished);
  const diagnosis = metrics.trainError !== null && metrics.devError !== null
    ? diagnose({ trainError: metrics.trainError, devError: metrics.devError, humanError: spec.humanError })
    : null;
  return { members: finished, metrics, diagnosis };
}

function initialState(spec: JobSpec, plan: ModelPlan, member: number, seed: number): MemberState {
  const params = initParameters(plan, seed);
  return {
    member,
    seed,
    epoch: 0,
    stepInEpoch: 0,
    globalStep: 0,
    params,
    optimizer: null,
    batchNorm: initBatchNormState(plan),
    smoothing: ewa({ beta: 0.9, biasCorrection: true }).init(),
    earlyStopping: spec.earlyStopping ? earlyStopping<never>({ metric: spec.earlyStopping.metric, patience: spec.earlyStopping.patience, minDelta: spec.earlyStopping.minDelta }) : null,
    best: null,
    stopped: false,
    epochLossSum: 0,
    epochExamples: 0,
  };
}

function buildOptimizer(spec: JobSpec, steps: number): Optimizer<ApplyIfFiniteState<unknown>> {
  const base = optimizer(spec.optimizer);
  const scheduled = withSchedule(base as never, schedule(spec.schedule, spec.optimizer.learningRate), { stepsPerEpoch: steps });
  return applyIfFinite(scheduled, { maxConsecutive: MAX_CONSECUTIVE_SKIPS }) as Optimizer<ApplyIfFiniteState<unknown>>;
}

async function trainMember(
  options: TrainerOptions & { now: () => number },
  start: MemberState,
  finished: readonly { params: Tensors; batchNorm: Tensors }[],
): Promise<{ params: Tensors; batchNorm: Tensors }> {
  const { spec, plan, data, signal, emit, now } = options;
  const train = data.train;
  const m = train.shape[0];
  const steps = stepsPerEpoch(m, spec.batchSize);
  const opt = buildOptimizer(spec, steps);
  const smoother = ewa({ beta: 0.9, biasCorrection: true });
  let s: MemberState = start.optimizer === null ? { ...start, optimizer: opt.init(start.params) } : start;
  const members = spec.ensemble.members;

  while (s.epoch < spec.epochs && !s.stopped) {
    const order = epochOrder(m, s.seed, s.epoch);
    const epochStart = now();
    const timings: StepTiming[] = [];
    let examples = 0; // trained by this process in this epoch: the throughput's numerator
    for (let step = s.stepInEpoch; step < steps; step++) {
      signal.throwIfAborted();
      const rows = batchOf(order, spec.batchSize, step);
      const timing: StepTiming = { plan: 0, encode: 0, transfer: 0, compute: 0, decode: 0, reduce: 0, optimizer: 0 };
      const result = await gradientStep(options, s, rows, timing);
      const t0 = now();
      const [updates, optState] = opt.update(result.gradients, s.optimizer as ApplyIfFiniteState<unknown>, s.params);
      const skipped = (optState as ApplyIfFiniteState<unknown>).skipped > (s.optimizer as ApplyIfFiniteState<unknown>).skipped;
      const params = skipped ? s.params : applyUpdates(s.params, updates);
      const batchNorm = skipped ? s.batchNorm : updateRunningStats(plan, s.batchNorm, result.moments);
      timing.optimizer = now() - t0;
      const loss = result.lossSum / rows.length;
      const smoothing = Number.isFinite(loss) ? smoother.update(s.smoothing, loss) : s.smoothing;
      s = {
        ...s, params, batchNorm, optimizer: optState, smoothing, stepInEpoch: step + 1, globalStep: s.globalStep + 1,
        epochLossSum: s.epochLossSum + result.lossSum, epochExamples: s.epochExamples + rows.length,
      };
      examples += rows.length;
      timings.push(timing);
      emit({
        type: "metrics",
        entry: {
          kind: "step", member: s.member, epoch: s.epoch, step: s.globalStep, loss, smoothedLoss: smoother.value(smoothing),
          learningRate: opt.learningRate(optState), skipped, timing,
        },
      });
      emit({ type: "progress", member: s.member, members, epoch: s.epoch, epochs: spec.epochs, step: step + 1, steps });
      if (spec.checkpointEvery > 0 && s.globalStep % spec.checkpointEvery === 0 && step + 1 < steps) {
        await options.checkpoint({ version: 1, finished, current: s });
        emit({ type: "checkpoint", member: s.member, epoch: s.epoch, step: s.globalStep });
      }
    }
    const trainSeconds = (now() - epochStart) / 1000;

    const trainEval = await evaluateSet(options, s.params, s.batchNorm, train);
    const devEval = data.dev.shape[0] > 0 ? await evaluateSet(options, s.params, s.batchNorm, data.dev) : null;
    let es = s.earlyStopping;
    let best = s.best;
    let stopped = false;
    if (es && devEval) {
      const value = spec.earlyStopping!.metric === "devLoss" || devEval.error === null ? devEval.loss : devEval.error;
      const before = es.bestEpoch;
      es = observe(es, s.epoch, value);
      if (es.bestEpoch !== before && es.bestEpoch === s.epoch) best = { params: s.params, batchNorm: s.batchNorm };
      stopped = es.stop;
    }
    const epochEntry: EpochMetrics = {
      kind: "epoch",
      member: s.member,
      epoch: s.epoch,
      step: s.globalStep,
      trainLoss: s.epochExamples > 0 ? s.epochLossSum / s.epochExamples : trainEval.loss,
      trainError: trainEval.error,
      devLoss: devEval?.loss ?? null,
      devError: devEval?.error ?? null,
      learningRate: opt.learningRate(s.optimizer as ApplyIfFiniteState<unknown>),
      examplesPerSecond: trainSeconds > 0 ? examples / trainSeconds : 0,
      stepMs: median(timings.map((t) => Object.values(t).reduce((a, b) => a + b, 0))),
      breakdown: medianTiming(timings),
    };
    s = { ...s, epoch: s.epoch + 1, stepInEpoch: 0, earlyStopping: es, best, stopped, epochLossSum: 0, epochExamples: 0 };
    emit({ type: "epoch", entry: epochEntry });
    await options.checkpoint({ version: 1, finished, current: s });
    emit({ type: "checkpoint", member: s.member, epoch: s.epoch, step: s.globalStep });
  }
  if (spec.earlyStopping?.restoreBest && s.best) return { params: s.best.params, batchNorm: s.best.batchNorm };
  return { params: s.params, batchNorm: s.batchNorm };
}

export interface StepResult {
  /** Gradient of the cost: mean over the batch plus the regularization penalty's gradient. */
  readonly gradients: Tensors;
  readonly lossSum: number;
  readonly moments: Record<string, ChunkMoments>;
}

/** One step's gradients: shards out, replies reduced in canonical order, penalty added. */
async function gradientStep(options: TrainerOptions & { now: () => number }, s: MemberState, rows: Int32Array, timing: StepTiming): Promise<StepResult> {
  const batch = gatherBatch(options.data, rows, options.spec, s.epoch, s.seed);
  return distributedGradient(options, { params: s.params, batch, step: s.globalStep, seed: s.seed }, timing, options.now);
}

/**
 * The gradient of the cost of one batch computed through a pool: the shard plan, one request per
 * shard, the canonical reduction and the central penalty. Exported for the tests that check the
 * distributed path against finite differences.
 */
export async function distributedGradient(
  context: { readonly spec: JobSpec; readonly plan: ModelPlan; readonly pool: WorkerPool; readonly signal: AbortSignal },
  input: { readonly params: Tensors; readonly batch: Batch; readonly step: number; readonly seed: number },
  timing: StepTiming = { plan: 0, encode: 0, transfer: 0, compute: 0, decode: 0, reduce: 0, optimizer: 0 },
  now: () => number = () => performance.now(),
): Promise<StepResult> {
  const { spec, plan, pool, signal } = context;
  const { batch } = input;
  const rows = batch.indices instanceof Int32Array ? batch.indices : Int32Array.from(batch.indices);
  const t0 = now();
  const shards = planShards(rows.length, spec.chunkSize, pool.capacity(), plan);
  const totalChunks = Math.ceil(rows.length / spec.chunkSize);
  timing.plan = now() - t0;
  const parameters = toWire(plan, input.params);
  const n = plan.inputSize;
  const k = batch.labels.length / rows.length;
  // Deterministic: each reply's blocks join the canonical tree as the reply comes in, so that
  // only the sums on the last reply's path to the root are left once the slowest shard is in.
  // The replies' arrays are this step's alone (WorkerPool), so the sums are made in them.
  const tree = spec.deterministic ? new TreeAccumulator<Tensors>(totalChunks, addTensorsInto) : null;
  const outcomes = await Promise.all(shards.map((shard) => {
    const a = shard.rowStart, b = shard.rowEnd;
    return pool.gradients({
      protocol: PROTOCOL,
      model: plan.spec,
      parameters,
      inputs: wireFloat32(batch.inputs.subarray(a * n, b * n), [b - a, n]),
      labels: batch.labels instanceof Int32Array
        ? wireInt32(batch.labels.subarray(a, b), [b - a])
        : wireFloat32(batch.labels.subarray(a * k, b * k), [b - a, k]),
      indices: wireInt32(rows.subarray(a, b), [b - a]),
      chunkSize: spec.chunkSize,
      step: input.step,
      seed: input.seed,
      deterministic: spec.deterministic,
      firstChunk: shard.firstChunk,
      totalChunks,
      backend: spec.workers.backend,
    }, signal).then((outcome) => {
      if (outcome.ok && tree) for (const b of outcome.value.blocks ?? []) tree.add(b.start, b.count, tensorData(b.gradients));
      return outcome;
    });
  }));
  const values = outcomes.map((o) => {
    const value = unwrap(o);
    if (o.ok && o.timing) addTiming(timing, o.timing);
    return value;
  });
  const t1 = now();
  const gradients: Tensors = {};
  for (const p of plan.parameters) {
    gradients[p.name] = tree
      ? tree.result()[p.name]
      : values.map((v) => v.gradients![p.name].data).reduce<Float32Array>((x, y) => addInto(x, y), new Float32Array(sizeOf(p.shape)));
  }
  const chunkLoss = new Float64Array(totalChunks);
  values.forEach((v, i) => chunkLoss.set(v.chunks.loss.data, shards[i].firstChunk));
  const lossSum = treeReduce(totalChunks, (c) => chunkLoss[c], (x, y) => x + y);
  const moments: Record<string, ChunkMoments> = {};
  for (const name of Object.keys(values[0].batchNorm)) {
    moments[name] = concatChunkMoments(values.map((v) => ({ count: v.batchNorm[name].count.data, mean: v.batchNorm[name].mean.data, m2: v.batchNorm[name].m2.data })));
  }
  // Mean over the batch, then the regularization penalty's gradient, added centrally.
  const B = rows.length;
  const pen = penalty(plan, input.params, spec.regularization, B);
  for (const p of plan.parameters) {
    const g = gradients[p.name];
    const pg = pen.gradients[p.name];
    for (let i = 0; i < g.length; i++) g[i] = pg ? g[i] / B + pg[i] : g[i] / B;
  }
  timing.reduce = now() - t1;
  return { gradients, lossSum, moments };
}

function toWire(plan: ModelPlan, tensors: Tensors): WireTensors {
  const out: WireTensors = {};
  for (const p of plan.parameters) out[p.name] = wireFloat32(tensors[p.name], p.shape);
  return out;
}

function toWireState(plan: ModelPlan, tensors: Tensors): WireTensors {
  const out: WireTensors = {};
  for (const p of plan.batchNormState) out[p.name] = wireFloat32(tensors[p.name], p.shape);
  return out;
}

function addTiming(into: StepTiming, t: ShardTiming): void {
  // Shards run in parallel: a step waits for the slowest of each phase.
  into.encode = Math.max(into.encode, t.encode);
  into.transfer = Math.max(into.transfer, t.transfer);
  into.compute = Math.max(into.compute, t.compute);
  into.decode = Math.max(into.decode, t.decode);
}

function unwrap<T>(outcome: ShardOutcome<T>): T {
  if (outcome.ok) return outcome.value;
  throw new TrainingError(outcome.error.message);
}

/**
 * The rows of a batch: without augmentation straight from the normalized training split; with it,
 * the raw rows augmented per (seed, epoch, example) and then normalized.
 */
function gatherBatch(data: PreparedData, rows: Int32Array, spec: JobSpec, epoch: number, seed: number): Batch {
  const aug = spec.dataset.augment;
  const augmenting = aug !== null && (aug.flipHorizontal || aug.shift > 0 || aug.noise > 0);
  const source = augmenting ? data.trainRaw : data.train;
  const n = source.shape[1];
  let inputs: Float32Array = new Float32Array(rows.length * n);
  for (let i = 0; i < rows.length; i++) inputs.set(source.features.subarray(rows[i] * n, rows[i] * n + n), i * n);
  if (augmenting) {
    inputs = augmentBatch(inputs, source.inputShape!, aug, { seed, epoch, indices: rows });
    if (data.normalization) normalizeFeatures(inputs, data.normalization, inputs);
  }
  const train = data.train;
  const labels = train.labels;
  let out: Int32Array | Float32Array;
  if (labels.kind === "classes") {
    out = new Int32Array(rows.length);
    for (let i = 0; i < rows.length; i++) out[i] = labels.values[rows[i]];
  } else {
    const w = labels.width;
    out = new Float32Array(rows.length * w);
    for (let i = 0; i < rows.length; i++) out.set(labels.values.subarray(rows[i] * w, rows[i] * w + w), i * w);
  }
  return { inputs, labels: out, indices: rows };
}

interface SetEvaluation {
  loss: number;
  error: number | null;
  outputs?: Float32Array;
}

/**
 * Loss and error of a whole split in inference mode, fanned out over the pool in fixed slices of
 * EVAL_ROWS rows; chunk losses are summed in canonical tree order, so the result does not depend
 * on the pool either.
 */
async function evaluateSet(options: TrainerOptions, params: Tensors, batchNorm: Tensors, set: Dataset, withOutputs = false): Promise<SetEvaluation> {
  const { spec, plan, pool, signal } = options;
  const m = set.shape[0];
  const n = set.shape[1];
  const slices: [number, number][] = [];
  const budget = Math.min(EVAL_ROWS, maxShardExamples(plan, spec.chunkSize, pool.capacity().limits));
  const rowsPerSlice = Math.max(spec.chunkSize, Math.floor(budget / spec.chunkSize) * spec.chunkSize);
  for (let a = 0; a < m; a += rowsPerSlice) slices.push([a, Math.min(a + rowsPerSlice, m)]);
  const labels = set.labels.values;
  const k = labels.length / m;
  const parameters = toWire(plan, params);
  const state = toWireState(plan, batchNorm);
  const outcomes = await Promise.all(slices.map(([a, b]) =>
    pool.evaluate({
      protocol: PROTOCOL,
      model: plan.spec,
      parameters,
      batchNorm: state,
      inputs: wireFloat32(set.features.subarray(a * n, b * n), [b - a, n]),
      labels: labels instanceof Int32Array ? wireInt32(labels.subarray(a, b), [b - a]) : wireFloat32(labels.subarray(a * k, b * k), [b - a, k]),
      chunkSize: spec.chunkSize,
      outputs: withOutputs,
      backend: spec.workers.backend,
    }, signal)
  ));
  const values = outcomes.map((o) => unwrap(o));
  const chunkLoss = values.flatMap((v) => Array.from(v.chunks.loss.data));
  const lossSum = treeReduce(chunkLoss.length, (c) => chunkLoss[c], (x, y) => x + y);
  const correct = values.reduce((a, v) => a + v.correct, 0);
  let outputs: Float32Array | undefined;
  if (withOutputs) {
    outputs = new Float32Array(m * plan.outputs);
    values.forEach((v, i) => outputs!.set(v.outputs!.data, slices[i][0] * plan.outputs));
  }
  return { loss: lossSum / m, error: plan.spec.output === "linear" ? null : 1 - correct / m, outputs };
}

/** Train/dev/test loss and error of the final model (the averaged outputs of an ensemble). */
async function finalMetrics(options: TrainerOptions, members: readonly { params: Tensors; batchNorm: Tensors }[]): Promise<FinalMetrics> {
  const { data, plan } = options;
  const evaluateAll = async (set: Dataset): Promise<SetEvaluation | null> => {
    if (set.shape[0] === 0) return null;
    if (members.length === 1) return evaluateSet(options, members[0].params, members[0].batchNorm, set);
    const outputs = [];
    for (const member of members) outputs.push((await evaluateSet(options, member.params, member.batchNorm, set, true)).outputs!);
    return scoreOutputs(plan, averageOutputs(outputs), set);
  };
  const [tr, dv, te] = [await evaluateAll(data.train), await evaluateAll(data.dev), await evaluateAll(data.test)];
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
      let best = 0;
      for (let k = 1; k < K; k++) if (outputs[i * K + k] > outputs[i * K + best]) best = k;
      if (best === y) correct++;
      loss -= Math.log(Math.max(outputs[i * K + y], tiny));
    } else if (plan.spec.output === "sigmoid") {
      const p = outputs[i], y = labels[i];
      if ((p > 0.5 ? 1 : 0) === y) correct++;
      loss -= y === 1 ? Math.log(Math.max(p, tiny)) : Math.log(Math.max(1 - p, tiny));
    } else {
      let l = 0;
      for (let k = 0; k < K; k++) l += (outputs[i * K + k] - labels[i * K + k]) ** 2;
      loss += l / K;
    }
  }
  return { loss: loss / m, error: plan.spec.output === "linear" ? null : 1 - correct / m };
}

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function medianTiming(timings: StepTiming[]): StepTiming {
  const keys: (keyof StepTiming)[] = ["plan", "encode", "transfer", "compute", "decode", "reduce", "optimizer"];
  const out = { plan: 0, encode: 0, transfer: 0, compute: 0, decode: 0, reduce: 0, optimizer: 0 };
  for (const k of keys) out[k] = median(timings.map((t) => t[k]));
  return out;
}
