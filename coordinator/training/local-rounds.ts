/**
 * Local-step rounds (DESIGN.md, "Local-step rounds"; DiLoCo, arXiv 2311.08105): K logical
 * replicas each run H inner steps of the job's optimizer from the global parameters θ, and an
 * outer optimizer applies the average of their pseudo-gradients Δᵣ = θ − θᵣ.
 *
 * - Data: inner step j of an epoch takes the rows of sync mode's batch j (the epoch's seeded
 *   shuffle); replica r gets the slice [⌊r·b/K⌋, ⌊(r+1)·b/K⌋) of its b rows, so with K | batchSize
 *   a full step gives each replica batchSize/K. A last batch of fewer than K rows is left out
 *   of that epoch (every replica's step needs a row). Rounds do not cross epochs: an epoch's last
 *   round has the steps that are left.
 * - Keys: inner step t (counted over the whole job) is the dropout-mask step and the schedule's
 *   step, `α_t = schedule(⌊t/steps per epoch⌋, t)`.
 * - Averages: Δ̄ and the batch-norm running statistics are averages over replicas in replica
 *   order (float64 sums, one float32 rounding), so neither depends on which worker ran which
 *   replica. The outer optimizer then takes Δ̄ as its gradient.
 * - Limits: a round whose requests would exceed the workers' maxRoundExamples or maxBodyBytes is
 *   cut into consecutive segments of whole steps; each segment hands on every replica's exact
 *   state (parameters, statistics, inner optimizer state), so the bits do not change.
 *
 * Everything is a pure function of the spec and the checkpointed state (the outer optimizer's
 * state and, with `innerState: "keep"`, each replica's), so a resumed job has the same bits.
 */
import { epochOrder } from "../../core/data/mod.ts";
import { ewa } from "../../core/ewa.ts";
import type { StepTiming } from "../../core/job/api.ts";
import type { OuterSpec } from "../../core/job/distribution.ts";
import type { JobSpec } from "../../core/job/spec.ts";
import type { NamedArrays } from "../../core/model/parameters.ts";
import type { ModelPlan } from "../../core/model/spec.ts";
import { adam, applyUpdates, type DescentOptimizer, type DescentState, heavyBall, optimizer, sgd } from "../../core/optim/mod.ts";
import type { RoundShardResult } from "../../core/round.ts";
import { schedule } from "../../core/schedule.ts";
import { tensorData, wireFloat32, wireFloat64, wireInt32, wireTensors } from "../../core/wire/tensor.ts";
import type { RoundShard, RoundTask } from "../../core/work.ts";
import type { PassTiming, PoolCapacity } from "../pool/worker-pool.ts";
import { gatherBatch, inputDecoding, wireRows } from "./gather-batch.ts";
import { maxShardExamples } from "./shard-plan.ts";
import { stepTiming } from "./step-timing.ts";
import type { EpochRunner, MemberState, RunnerContext } from "./trainer.ts";
import { MAX_CONSECUTIVE_SKIPS, TrainingError, unwrap } from "./training-error.ts";

/** A replica's inner optimizer state between requests: updates applied and the direction's moments. */
export interface InnerState {
  readonly step: number;
  readonly moments: Readonly<Record<string, NamedArrays>>;
}

/** What local mode checkpoints beside the global parameters and statistics. */
export interface RoundsState {
  readonly outer: DescentState<object>;
  /** Per replica: its inner state (`keep`; null before its first round or with `reset`) and its run of skipped steps. */
  readonly replicas: readonly { readonly inner: InnerState | null; readonly consecutiveSkipped: number }[];
}

/** Room for the message around the tensors of a round request (model, names, headers, per-step arrays). */
const BODY_OVERHEAD = 64 * 1024;

/** Inner steps in an epoch of m examples: sync's batches, less a last one of fewer than K rows. */
export function localStepsPerEpoch(m: number, batchSize: number, replicas: number): number {
  const full = Math.floor(m / batchSize);
  return full + (m % batchSize >= replicas ? 1 : 0);
}

/** Rows of replica r in a step of `rows` (views of it). */
export function replicaRows(rows: Int32Array, replica: number, replicas: number): Int32Array {
  const b = rows.length;
  return rows.subarray(Math.floor((replica * b) / replicas), Math.floor(((replica + 1) * b) / replicas));
}

/** The outer optimizer of a spec: DiLoCo's nesterov, heavy-ball momentum, plain averaging (sgd) or Adam. */
export function outerOptimizer(outer: OuterSpec): DescentOptimizer<object> {
  const { learningRate, momentum } = outer;
  switch (outer.type) {
    case "sgd":
      return sgd({ learningRate }) as DescentOptimizer<object>;
    case "momentum":
      return heavyBall({ learningRate, momentum }) as DescentOptimizer<object>;
    case "nesterov":
      return heavyBall({ learningRate, momentum, nesterov: true }) as DescentOptimizer<object>;
    case "adam":
      return adam({ learningRate, beta1: momentum }) as DescentOptimizer<object>;
  }
}

/**
 * Most inner steps of one replica's request under the pool's limits: its examples within
 * maxRoundExamples and its body within maxBodyBytes (parameters, statistics and inner moments
 * besides the examples). Throws a TrainingError when not even one step fits.
 */
export function stepsPerRequest(spec: JobSpec, plan: ModelPlan, limits: PoolCapacity["limits"], rowsPerStep: number): number {
  const perStep = maxShardExamples(plan, spec.chunkSize, limits);
  if (rowsPerStep > perStep) {
    throw new TrainingError(`An inner step of ${rowsPerStep} examples (batchSize/replicas) exceeds what the workers take in one request (${perStep} examples under their limits in GET /v1/health); use a smaller batchSize or more replicas`);
  }
  let examples = limits.maxRoundExamples ?? Number.MAX_SAFE_INTEGER;
  if (limits.maxBodyBytes) {
    const moments = Object.keys(optimizer(spec.optimizer).direction.init({})).length;
    const state = plan.batchNormState.reduce((a, p) => a + p.shape[0], 0);
    const fixed = 4 * ((1 + moments) * plan.parameterCount + state) + BODY_OVERHEAD;
    examples = Math.min(examples, Math.floor((limits.maxBodyBytes - fixed) / (4 * (plan.inputSize + plan.outputs + 1) + 24)));
  }
  const steps = Math.floor(examples / rowsPerStep);
  if (steps < 1) {
    throw new TrainingError(`An inner step of ${rowsPerStep} examples does not fit one round request under the workers' limits (maxRoundExamples ${limits.maxRoundExamples ?? "none"}, maxBodyBytes ${limits.maxBodyBytes ?? "none"}); use a smaller batchSize or more replicas`);
  }
  return steps;
}

/** Σᵣ xᵣ / K per element, in replica order, summed in float64 and rounded to float32 once. */
function replicaMean(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts[0].length);
  const k = parts.length;
  for (let i = 0; i < out.length; i++) {
    let sum = 0;
    for (let r = 0; r < k; r++) sum += parts[r][i];
    out[i] = sum / k;
  }
  return out;
}

/** A reply's inner state; null where the request left it out. A reply that lacks one it was asked for is an error. */
function innerFromReply(reply: RoundShardResult, asked: boolean, replica: number): InnerState | null {
  const inner = reply.innerState;
  if (!inner) {
    if (asked) throw new TrainingError(`Replica ${replica}'s round reply has no innerState, which the next request needs`);
    return null;
  }
  return { step: inner.step, moments: Object.fromEntries(Object.entries(inner.moments).map(([k, t]) => [k, tensorData(t)])) };
}

/** The runner of local mode (trainer.ts dispatches on `distribution.mode`). */
export function localRounds(options: RunnerContext): EpochRunner {
  const { spec, plan, data, pool, signal, emit, now, finished } = options;
  const spread = spec.distribution;
  if (spread.mode !== "local") throw new TypeError("localRounds needs a job in distribution mode 'local'");
  const dist = spread;
  const K = dist.replicas;
  const m = data.train.shape[0];
  const steps = localStepsPerEpoch(m, spec.batchSize, K);
  if (steps === 0) throw new TrainingError(`The training split has ${m} examples, fewer than the ${K} replicas need for one inner step`);
  const roundsPerEpoch = Math.ceil(steps / dist.innerSteps);
  const rate = schedule(spec.schedule, spec.optimizer.learningRate);
  const rateAt = (t: number) => rate(Math.floor(t / steps), t);
  const outer = outerOptimizer(dist.outer);
  const smoother = ewa({ beta: 0.9, biasCorrection: true });
  const members = spec.ensemble.members;
  const inputWidth = plan.inputSize;
  const decoding = inputDecoding(data);

  const startRounds = (s: MemberState): RoundsState => s.rounds ?? {
    outer: outer.init(s.params),
    replicas: Array.from({ length: K }, () => ({ inner: null, consecutiveSkipped: 0 })),
  };

  /** One round: steps [first, first + count) of the epoch; returns the new state and its timing. */
  async function round(s: MemberState, order: Int32Array, first: number, count: number) {
    const rounds = startRounds(s);
    const t0 = now();
    const stepRows = Array.from({ length: count }, (_, h) => order.subarray((first + h) * spec.batchSize, Math.min((first + h + 1) * spec.batchSize, order.length)));
    const capacity = pool.capacity();
    const perRequest = stepsPerRequest(spec, plan, capacity.limits, spec.batchSize / K);
    // Codes when the data has them and every worker takes them; the rows' bits are the same either way.
    const compact = data.inputCodes !== null && capacity.inputCodes === true;
    // With `reset`, the last segment's inner states are dropped: asked for only from workers that may leave them out.
    const dropsLastInner = dist.innerState === "reset" && capacity.returnInnerState === true;
    let planMs = now() - t0;
    const pass = { encode: 0, transfer: 0, compute: 0, decode: 0 };
    // Each replica's state as the segments hand it on.
    let replicas = rounds.replicas.map((r) => ({
      params: s.params, batchNorm: s.batchNorm, inner: dist.innerState === "keep" ? r.inner : null, consecutiveSkipped: r.consecutiveSkipped,
    }));
    const stats = Array.from({ length: count }, () => ({ count: 0, loss: 0, skipped: false }));
    for (let h0 = 0; h0 < count; h0 += perRequest) {
      signal.throwIfAborted();
      const t1 = now();
      const h1 = Math.min(count, h0 + perRequest);
      const segment = stepRows.slice(h0, h1);
      const shards: RoundShard[] = replicas.map((replica, r) => {
        const parts = segment.map((rows) => replicaRows(rows, r, K));
        const rows = new Int32Array(parts.reduce((a, p) => a + p.length, 0));
        let at = 0;
        for (const p of parts) {
          rows.set(p, at);
          at += p.length;
        }
        const batch = gatherBatch(data, rows, spec, s.epoch, s.seed);
        const k = batch.labels.length / rows.length;
        return {
          inputs: wireRows(batch, 0, rows.length, inputWidth, compact),
          labels: batch.labels instanceof Int32Array ? wireInt32(batch.labels, [rows.length]) : wireFloat32(batch.labels, [rows.length, k]),
          indices: wireInt32(rows, [rows.length]),
          stepExamples: wireInt32(Int32Array.from(parts, (p) => p.length), [parts.length]),
          ...(h0 > 0 ? { parameters: wireTensors(plan.parameters, replica.params), batchNorm: wireTensors(plan.batchNormState, replica.batchNorm) } : {}),
          ...(replica.inner ? { innerState: { step: replica.inner.step, moments: Object.fromEntries(Object.entries(replica.inner.moments).map(([k2, t]) => [k2, wireTensors(plan.parameters, t)])) } } : {}),
        };
      });
      const globalFirst = s.globalStep + h0;
      const returnInner = !(dropsLastInner && h1 === count);
      const task: RoundTask = {
        context: {
          model: plan.spec,
          optimizer: spec.optimizer,
          regularization: spec.regularization,
          chunkSize: spec.chunkSize,
          seed: s.seed,
          deterministic: spec.deterministic,
          step: globalFirst,
          learningRates: wireFloat64(Float64Array.from(segment, (_, h) => rateAt(globalFirst + h)), [segment.length]),
          penaltyExamples: wireInt32(Int32Array.from(segment, (rows) => rows.length), [segment.length]),
          // The first segment's replicas all start from θ: sent once in the shared context.
          ...(h0 === 0 ? { parameters: wireTensors(plan.parameters, s.params), batchNorm: wireTensors(plan.batchNormState, s.batchNorm) } : {}),
          ...(returnInner ? {} : { returnInnerState: false as const }),
          backend: spec.workers.backend,
          ...(compact ? decoding : {}),
        },
        shards,
      };
      planMs += now() - t1;
      const result = await pool.runRound(task, { signal });
      const replies = result.outcomes.map(unwrap);
      addPass(pass, result.timing);
      replicas = replies.map((reply, r) => {
        let consecutive = replicas[r].consecutiveSkipped;
        for (let h = 0; h < reply.steps.skipped.data.length; h++) {
          const skipped = reply.steps.skipped.data[h] === 1;
          consecutive = skipped ? consecutive + 1 : 0;
          if (consecutive > MAX_CONSECUTIVE_SKIPS) {
            throw new TrainingError(`Training diverged: replica ${r}'s gradients were not finite for ${consecutive} consecutive inner steps (more than ${MAX_CONSECUTIVE_SKIPS})`);
          }
          const st = stats[h0 + h];
          st.count += reply.steps.count.data[h];
          st.loss += reply.steps.loss.data[h];
          st.skipped ||= skipped;
        }
        return { params: tensorData(reply.parameters), batchNorm: tensorData(reply.batchNorm), inner: innerFromReply(reply, returnInner, r), consecutiveSkipped: consecutive };
      });
    }
    const t2 = now();
    // Δ̄ = mean over replicas of θ − θᵣ (each difference rounded to float32), and the statistics' mean.
    const delta: NamedArrays = {};
    for (const p of plan.parameters) {
      const theta = s.params[p.name];
      delta[p.name] = replicaMean(replicas.map((rep) => {
        const d = new Float32Array(theta.length);
        const own = rep.params[p.name];
        for (let i = 0; i < d.length; i++) d[i] = theta[i] - own[i];
        return d;
      }));
    }
    for (const [name, d] of Object.entries(delta)) {
      for (const x of d) if (!Number.isFinite(x)) throw new TrainingError(`Training diverged: the averaged update of '${name}' is not finite`);
    }
    const batchNorm: NamedArrays = {};
    for (const p of plan.batchNormState) batchNorm[p.name] = replicaMean(replicas.map((rep) => rep.batchNorm[p.name]));
    const reduceMs = now() - t2;
    const t3 = now();
    const [updates, outerState] = outer.update(delta, rounds.outer, s.params);
    const params = applyUpdates(s.params, updates);
    const optimizerMs = now() - t3;
    const next: RoundsState = {
      outer: outerState,
      replicas: replicas.map((rep) => ({ inner: dist.innerState === "keep" ? rep.inner : null, consecutiveSkipped: rep.consecutiveSkipped })),
    };
    const timing = stepTiming({ plan: planMs, reduce: reduceMs, optimizer: optimizerMs }, pass);
    return { params, batchNorm, rounds: next, stats, timing };
  }

  return {
    learningRate: (s) => rateAt(Math.max(0, s.globalStep - 1)),
    async epoch(start) {
      let s = start;
      const order = epochOrder(m, s.seed, s.epoch);
      const timings: StepTiming[] = [];
      let examples = 0;
      while (s.stepInEpoch < steps) {
        signal.throwIfAborted();
        const count = Math.min(dist.innerSteps, steps - s.stepInEpoch);
        const done = await round(s, order, s.stepInEpoch, count);
        // Each inner step's entry carries its share of the round's time.
        const share = perStepTiming(done.timing, count);
        let smoothing = s.smoothing;
        let lossSum = 0, rows = 0;
        for (let h = 0; h < count; h++) {
          const st = done.stats[h];
          const loss = st.loss / st.count;
          smoothing = Number.isFinite(loss) ? smoother.update(smoothing, loss) : smoothing;
          lossSum += st.loss;
          rows += st.count;
          timings.push(share);
          emit({
            type: "metrics",
            entry: {
              kind: "step", member: s.member, epoch: s.epoch, step: s.globalStep + h + 1, loss, smoothedLoss: smoother.value(smoothing),
              learningRate: rateAt(s.globalStep + h), skipped: st.skipped, timing: share,
            },
          });
        }
        const before = s.globalStep;
        s = {
          ...s, params: done.params, batchNorm: done.batchNorm, rounds: done.rounds, smoothing,
          stepInEpoch: s.stepInEpoch + count, globalStep: s.globalStep + count,
          epochLossSum: s.epochLossSum + lossSum, epochExamples: s.epochExamples + rows,
        };
        examples += rows;
        // Rounds start every H steps of an epoch, so ⌈steps done / H⌉ of them are done (resumes included).
        const rounds = { done: s.epoch * roundsPerEpoch + Math.ceil(s.stepInEpoch / dist.innerSteps), total: spec.epochs * roundsPerEpoch };
        emit({ type: "progress", member: s.member, members, epoch: s.epoch, epochs: spec.epochs, step: s.stepInEpoch, steps, rounds });
        const every = spec.checkpointEvery;
        if (every > 0 && Math.floor(s.globalStep / every) > Math.floor(before / every) && s.stepInEpoch < steps) {
          await options.checkpoint({ version: 1, finished, current: s });
          emit({ type: "checkpoint", member: s.member, epoch: s.epoch, step: s.globalStep });
        }
      }
      return { state: s, examples, timings };
    },
  };
}

function addPass(into: { encode: number; transfer: number; compute: number; decode: number }, pass: PassTiming): void {
  into.encode += pass.encode;
  into.transfer += pass.transfer;
  into.compute += pass.compute;
  into.decode += pass.decode;
}

function perStepTiming(timing: StepTiming, steps: number): StepTiming {
  const out = { ...timing };
  for (const key of Object.keys(out) as (keyof StepTiming)[]) out[key] /= steps;
  return out;
}
