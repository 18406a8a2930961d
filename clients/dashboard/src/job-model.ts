/**
 * The job page's data, apart from the DOM: metrics history merged with live events, and the series
 * the charts plot. Pure functions, so tests run them in Node.
 */
import { ewa } from "../../../core/ewa.ts";
import { describeDistribution } from "../../../core/job/distribution.ts";
import type { EpochMetrics, JobCommunication, Progress, StepMetrics } from "../../sdk/mod.ts";
import * as format from "./format.ts";

/**
 * Step and epoch entries keyed by (member, step) and (member, epoch). The page fills it from
 * `GET /v1/jobs/:id/metrics` and from the event stream, which replays buffered events: keys make
 * an entry seen twice count once.
 */
export class JobHistory {
  readonly #steps = new Map<string, StepMetrics>();
  readonly #epochs = new Map<string, EpochMetrics>();
  #version = 0;

  addStep(entry: StepMetrics): void {
    this.#steps.set(`${entry.member}:${entry.step}`, entry);
    this.#version++;
  }

  addEpoch(entry: EpochMetrics): void {
    this.#epochs.set(`${entry.member}:${entry.epoch}`, entry);
    this.#version++;
  }

  /** Changes with every added entry (to skip redrawing unchanged charts). */
  get version(): number {
    return this.#version;
  }

  /** Steps ordered by member, then step. */
  steps(): StepMetrics[] {
    return [...this.#steps.values()].sort((a, b) => a.member - b.member || a.step - b.step);
  }

  /** Epochs ordered by member, then epoch. */
  epochs(): EpochMetrics[] {
    return [...this.#epochs.values()].sort((a, b) => a.member - b.member || a.epoch - b.epoch);
  }

  /**
   * True when some step between 1 and a member's last step is missing: the event buffer dropped
   * entries the page never saw, and the persisted history should be fetched again.
   */
  hasGap(): boolean {
    const last = new Map<number, { max: number; count: number }>();
    for (const s of this.#steps.values()) {
      const m = last.get(s.member) ?? { max: 0, count: 0 };
      last.set(s.member, { max: Math.max(m.max, s.step), count: m.count + 1 });
    }
    return [...last.values()].some((m) => m.count < m.max);
  }
}

export interface SmoothingOptions {
  /** β of v_t = β·v_{t−1} + (1−β)·θ_t, in [0, 1). */
  readonly beta: number;
  /** Plot v_t/(1 − βᵗ) instead of v_t. */
  readonly biasCorrection: boolean;
}

export interface LossSeries {
  /** Step on the x axis; ensemble members follow one another. */
  readonly x: number[];
  /** Raw mini-batch loss θ_t (null where it was not finite). */
  readonly raw: (number | null)[];
  /** The exponentially weighted average of the raw loss, restarted for each member. */
  readonly smoothed: (number | null)[];
  readonly learningRate: (number | null)[];
}

/**
 * The loss chart's series: x is the step (members after one another), the raw loss, and its
 * exponentially weighted average computed here (core/ewa.ts) with the page's β and bias
 * correction: v_0 = 0, v_t = β·v_{t−1} + (1−β)·θ_t, plotted as v_t or v_t/(1 − βᵗ). A step whose
 * loss is not finite is skipped by the average, as the trainer's own smoothing does.
 */
export function lossSeries(steps: readonly StepMetrics[], options: SmoothingOptions): LossSeries {
  const average = ewa({ beta: options.beta, biasCorrection: options.biasCorrection });
  const x: number[] = [], raw: (number | null)[] = [], smoothed: (number | null)[] = [], learningRate: (number | null)[] = [];
  let member = -1, offset = 0, lastStep = 0, state = average.init();
  for (const s of steps) {
    if (s.member !== member) {
      offset += member < 0 ? 0 : lastStep;
      member = s.member;
      state = average.init();
    }
    lastStep = s.step;
    const loss = typeof s.loss === "number" && Number.isFinite(s.loss) ? s.loss : null;
    if (loss !== null) state = average.update(state, loss);
    x.push(offset + s.step);
    raw.push(loss);
    smoothed.push(state.count > 0 ? average.value(state) : null);
    learningRate.push(Number.isFinite(s.learningRate) ? s.learningRate : null);
  }
  return { x, raw, smoothed, learningRate };
}

export interface EpochSeries {
  /** Epoch number, from 1; ensemble members follow one another. */
  readonly x: number[];
  readonly train: (number | null)[];
  readonly dev: (number | null)[];
  /** "error" for classification (fractions), "loss" when the job has no error (regression). */
  readonly kind: "error" | "loss";
  /** Index into x of the best dev value: where early stopping would stop (null without dev values). */
  readonly best: number | null;
}

/**
 * Train and dev error per epoch (train and dev loss for a regression job, which has no error),
 * and the epoch with the lowest dev value by `metric` (the job's early-stopping metric): the
 * picture used to read bias (train error far from the goal) and variance (dev far above train).
 */
export function epochSeries(epochs: readonly EpochMetrics[], metric: "devError" | "devLoss" = "devError"): EpochSeries {
  const kind = epochs.some((e) => e.trainError !== null || e.devError !== null) ? "error" : "loss";
  const x: number[] = [], train: (number | null)[] = [], dev: (number | null)[] = [];
  let member = -1, offset = 0, last = 0, best: number | null = null, bestValue = Infinity;
  for (const e of epochs) {
    if (e.member !== member) {
      offset += member < 0 ? 0 : last + 1;
      member = e.member;
    }
    last = e.epoch;
    x.push(offset + e.epoch + 1);
    train.push(kind === "error" ? e.trainError : e.trainLoss);
    dev.push(kind === "error" ? e.devError : e.devLoss);
    const value = metric === "devLoss" || kind === "loss" ? e.devLoss : e.devError;
    if (value !== null && value < bestValue) {
      bestValue = value;
      best = x.length - 1;
    }
  }
  return { x, train, dev, kind, best };
}

/** The job's traffic as the page writes it: bytes per example, and the totals behind it. */
export function communicationText(c: JobCommunication | null): { readonly perExample: string; readonly totals: string } {
  if (!c) return { perExample: "—", totals: "not counted for this job" };
  const perExample = c.bytesPerExample === null ? "—" : `${format.bytes(c.bytesPerExample)} per example`;
  return { perExample, totals: `${c.requests} requests, ${format.bytes(c.bytesSent)} sent, ${format.bytes(c.bytesReceived)} received` };
}

/**
 * How a job spreads its work, for the header: its distribution ("sync", or "local 4×16 (keep),
 * outer nesterov lr 0.7 momentum 0.9") and, in local mode, "round 3/12" (null in sync mode).
 */
export function distributionText(spec: Record<string, unknown>, progress: Progress): { readonly mode: string; readonly rounds: string | null } {
  const r = progress.rounds;
  return { mode: describeDistribution(spec.distribution), rounds: r ? `round ${r.done}/${r.total}` : null };
}
