/**
 * The training loop of one job (DESIGN.md, "One training step"), independent of transport: every
 * step's gradient comes from a pool (gradient-step.ts); the loop applies the optimizer centrally,
 * keeps the batch-norm running statistics, evaluates after every epoch (evaluation.ts), stops
 * early and checkpoints. In local mode (`distribution.mode: "local"`) an epoch's steps run as
 * local-step rounds instead (local-rounds.ts); evaluation, early stopping and checkpoints are the same. Everything it does is a pure function of the job
 * spec and the checkpointed state, so a resumed job ends with the same bits as an uninterrupted one.
 */
import { batchOf, epochOrder, stepsPerEpoch } from "../../core/data/mod.ts";
import { diagnose, type Diagnosis } from "../../core/diagnosis.ts";
import { earlyStopping, type EarlyStoppingState, observe } from "../../core/early-stopping.ts";
import { ensembleSeeds } from "../../core/ensemble.ts";
import { ewa, type EwaState } from "../../core/ewa.ts";
import type { EarlyStoppingOutcome, EpochMetrics, FinalMetrics, JobCommunication, MetricsEntry, RoundsProgress, StepMetrics, StepTiming } from "../../core/job/api.ts";
import type { JobSpec } from "../../core/job/spec.ts";
import { updateRunningStats } from "../../core/model/batch-norm.ts";
import { initBatchNormState, initParameters, type NamedArrays } from "../../core/model/parameters.ts";
import type { ModelPlan } from "../../core/model/spec.ts";
import { applyIfFinite, type ApplyIfFiniteState, applyUpdates, type DescentState, optimizer, type Optimizer, withSchedule } from "../../core/optim/mod.ts";
import { schedule } from "../../core/schedule.ts";
import type { WorkerPool } from "../pool/worker-pool.ts";
import { evaluateSet, finalMetrics } from "./evaluation.ts";
import { gatherBatch, inputDecoding } from "./gather-batch.ts";
import { distributedGradient } from "./gradient-step.ts";
import { localRounds, type RoundsState } from "./local-rounds.ts";
import { addPass, type CommunicationCount, communicationView, countingPool, NO_COMMUNICATION } from "./communication.ts";
import type { PreparedData } from "./prepared-data.ts";
import { median, medianTiming, stepMs, stepTiming } from "./step-timing.ts";
import { MAX_CONSECUTIVE_SKIPS } from "./training-error.ts";

export { MAX_CONSECUTIVE_SKIPS };

/** The central optimizer's state: the job's optimizer, scheduled, inside applyIfFinite. */
export type OptimizerState = ApplyIfFiniteState<DescentState<object>>;

export interface MemberState {
  readonly member: number;
  readonly seed: number;
  readonly epoch: number;
  /** Next step within `epoch`. */
  readonly stepInEpoch: number;
  /** Steps taken by this member so far (the dropout-mask step key). */
  readonly globalStep: number;
  readonly params: NamedArrays;
  /** Null until the member's first step initializes it. */
  readonly optimizer: OptimizerState | null;
  readonly batchNorm: NamedArrays;
  readonly smoothing: EwaState;
  readonly earlyStopping: EarlyStoppingState<never> | null;
  readonly best: { readonly params: NamedArrays; readonly batchNorm: NamedArrays } | null;
  readonly stopped: boolean;
  /** Loss sum and examples of the epoch's steps so far, so a resumed epoch reports what an uninterrupted one does. */
  readonly epochLossSum: number;
  readonly epochExamples: number;
  /** Local mode: the outer optimizer's state and each replica's (absent in sync mode). */
  readonly rounds?: RoundsState;
}

/** Everything needed to resume a job: finished members and the one in progress. */
export interface TrainState {
  readonly version: 1;
  readonly finished: readonly { readonly params: NamedArrays; readonly batchNorm: NamedArrays }[];
  readonly current: MemberState | null;
  /** The training passes' traffic so far (absent in checkpoints written before it was counted: counting starts there). */
  readonly communication?: CommunicationCount;
}

export type { EpochMetrics, FinalMetrics, MetricsEntry, StepMetrics, StepTiming };

export interface TrainResult {
  readonly members: readonly { readonly params: NamedArrays; readonly batchNorm: NamedArrays }[];
  readonly metrics: FinalMetrics;
  readonly diagnosis: Diagnosis | null;
  /** How early stopping ended the first member it stopped; null when none stopped early. */
  readonly earlyStopping: EarlyStoppingOutcome | null;
}

export type TrainEvent =
  | { readonly type: "progress"; readonly member: number; readonly members: number; readonly epoch: number; readonly epochs: number; readonly step: number; readonly steps: number; readonly rounds?: RoundsProgress }
  | { readonly type: "metrics"; readonly entry: StepMetrics }
  | { readonly type: "epoch"; readonly entry: EpochMetrics }
  | { readonly type: "checkpoint"; readonly member: number; readonly epoch: number; readonly step: number }
  | { readonly type: "communication"; readonly communication: JobCommunication };

/** Trains the rest of an epoch (from `stepInEpoch`): sync steps here, local-step rounds in local-rounds.ts. */
export interface EpochRunner {
  /** The state at the epoch's end (epoch not yet advanced), and what the epoch's metrics need. */
  epoch(s: MemberState): Promise<{ readonly state: MemberState; readonly examples: number; readonly timings: readonly StepTiming[] }>;
  /** The learning rate the epoch entry reports. */
  learningRate(s: MemberState): number;
}

/** What a runner needs from the trainer: the job, and the members finished before (for checkpoints). */
export type RunnerContext = TrainerOptions & { readonly now: () => number; readonly finished: readonly { params: NamedArrays; batchNorm: NamedArrays }[] };

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

export { TrainingError } from "./training-error.ts";

export async function train(options: TrainerOptions): Promise<TrainResult> {
  const { spec, plan } = options;
  const now = options.now ?? (() => performance.now());
  const seeds = ensembleSeeds(spec.seed, spec.ensemble.members);
  const finished = [...(options.resume?.finished ?? [])];
  let current = options.resume?.current ?? null;
  let stoppedEarly: EarlyStoppingOutcome | null = null;
  // The training passes are counted on their way through the pool, whichever runner makes them.
  let count = options.resume?.communication ?? NO_COMMUNICATION;
  const report = () => options.emit({ type: "communication", communication: communicationView(count) });
  const pool = countingPool(options.pool, (traffic, examples) => {
    count = addPass(count, traffic, examples);
    report();
  });
  const counted: TrainerOptions = { ...options, pool, checkpoint: (state) => options.checkpoint({ ...state, communication: count }) };
  report();
  for (let member = finished.length; member < seeds.length; member++) {
    const state = current && current.member === member ? current : initialState(spec, plan, member, seeds[member]);
    current = null;
    const done = await trainMember({ ...counted, now }, state, finished);
    finished.push(done.model);
    stoppedEarly ??= done.earlyStopping;
  }
  const metrics = await finalMetrics(options, finished, options.data);
  const diagnosis = metrics.trainError !== null && metrics.devError !== null
    ? diagnose({ trainError: metrics.trainError, devError: metrics.devError, humanError: spec.humanError })
    : null;
  return { members: finished, metrics, diagnosis, earlyStopping: stoppedEarly };
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

function buildOptimizer(spec: JobSpec, steps: number): Optimizer<OptimizerState> {
  // The four optimizers differ only in their moments, which the trainer never reads.
  const base = optimizer(spec.optimizer) as Parameters<typeof withSchedule<object>>[0];
  const scheduled = withSchedule(base, schedule(spec.schedule, spec.optimizer.learningRate), { stepsPerEpoch: steps });
  return applyIfFinite(scheduled, { maxConsecutive: MAX_CONSECUTIVE_SKIPS });
}

async function trainMember(
  options: TrainerOptions & { now: () => number },
  start: MemberState,
  finished: readonly { params: NamedArrays; batchNorm: NamedArrays }[],
): Promise<{ model: { params: NamedArrays; batchNorm: NamedArrays }; earlyStopping: EarlyStoppingOutcome | null }> {
  const { spec, data, emit, now } = options;
  const context: RunnerContext = { ...options, finished };
  const runner = spec.distribution.mode === "local" ? localRounds(context) : syncSteps(context);
  let s = start;

  while (s.epoch < spec.epochs && !s.stopped) {
    const epochStart = now();
    // `examples`: trained by this process in this epoch, the throughput's numerator.
    const { state, examples, timings } = await runner.epoch(s);
    s = state;
    const trainSeconds = (now() - epochStart) / 1000;

    const trainEval = await evaluateSet(options, s, data.train);
    const devEval = data.dev.shape[0] > 0 ? await evaluateSet(options, s, data.dev) : null;
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
      learningRate: runner.learningRate(s),
      examplesPerSecond: trainSeconds > 0 ? examples / trainSeconds : 0,
      stepMs: median(timings.map(stepMs)),
      breakdown: medianTiming(timings),
    };
    s = { ...s, epoch: s.epoch + 1, stepInEpoch: 0, earlyStopping: es, best, stopped, epochLossSum: 0, epochExamples: 0 };
    emit({ type: "epoch", entry: epochEntry });
    await options.checkpoint({ version: 1, finished, current: s });
    emit({ type: "checkpoint", member: s.member, epoch: s.epoch, step: s.globalStep });
  }
  const restored = Boolean(spec.earlyStopping?.restoreBest && s.best);
  const es = s.earlyStopping;
  // Read from the state, not from this run's epochs, so a job resumed after it stopped reports it too.
  const earlyStopping = s.stopped && es && es.lastEpoch !== null && es.bestEpoch !== null
    ? { stoppedAtEpoch: es.lastEpoch + 1, bestEpoch: es.bestEpoch + 1, restored }
    : null;
  const model = restored ? { params: s.best!.params, batchNorm: s.best!.batchNorm } : { params: s.params, batchNorm: s.batchNorm };
  return { model, earlyStopping };
}

/** Synchronous steps: every step's gradient over the whole batch, the job's optimizer applied here. */
function syncSteps(options: RunnerContext): EpochRunner {
  const { spec, plan, data, signal, emit, now, finished } = options;
  const train = data.train;
  const m = train.shape[0];
  const steps = stepsPerEpoch(m, spec.batchSize);
  const opt = buildOptimizer(spec, steps);
  const smoother = ewa({ beta: 0.9, biasCorrection: true });
  const members = spec.ensemble.members;
  const withOptimizer = (s: MemberState) => ({ ...s, optimizer: s.optimizer ?? opt.init(s.params) });
  const decoding = inputDecoding(data);
  return {
    learningRate: (s) => opt.learningRate(withOptimizer(s).optimizer),
    async epoch(start) {
      let s = withOptimizer(start);
      const order = epochOrder(m, s.seed, s.epoch);
      const timings: StepTiming[] = [];
      let examples = 0;
      for (let step = s.stepInEpoch; step < steps; step++) {
        signal.throwIfAborted();
        const rows = batchOf(order, spec.batchSize, step);
        const batch = gatherBatch(data, rows, spec, s.epoch, s.seed);
        const result = await distributedGradient(options, { params: s.params, batch, decoding, step: s.globalStep, seed: s.seed }, now);
        const t0 = now();
        const [updates, optState] = opt.update(result.gradients, s.optimizer, s.params);
        const skipped = optState.skipped > s.optimizer.skipped;
        const params = skipped ? s.params : applyUpdates(s.params, updates);
        const batchNorm = skipped ? s.batchNorm : updateRunningStats(plan, s.batchNorm, result.moments);
        const timing = stepTiming({ plan: result.timing.plan, reduce: result.timing.reduce, optimizer: now() - t0 }, result.timing.pass);
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
      return { state: s, examples, timings };
    },
  };
}
