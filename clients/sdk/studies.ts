/**
 * Hyperparameter studies from a client (`/v1/studies`, DESIGN.md "Study spec"): submit, follow,
 * read and cancel a study, through `EdgepropClient` (same options, same `EdgepropError`), so it
 * runs unchanged in Node, Deno and browsers.
 */
import { type ClientOptions, EdgepropClient } from "./client.ts";

export type StudyStatus = "running" | "succeeded" | "failed" | "cancelled";
export type TrialStatus = "pending" | "running" | "succeeded" | "stopped" | "failed" | "cancelled";
export type StudyMetric = "devError" | "devLoss" | "trainError" | "trainLoss";
/** The axis a dimension is plotted on. */
export type AxisScale = "linear" | "log" | "oneMinusLog" | "categorical";

export type StrategySpec =
  | { readonly type: "grid"; readonly points: number; readonly concurrency: number }
  | { readonly type: "random"; readonly trials: number; readonly concurrency: number }
  | { readonly type: "coarseToFine"; readonly rounds: number; readonly trialsPerRound: number; readonly keep: number; readonly concurrency: number }
  | { readonly type: "successiveHalving"; readonly trials: number; readonly minEpochs: number; readonly eta: number; readonly concurrency: number };

export interface StudyTrial {
  readonly id: string;
  readonly index: number;
  /** Coarse-to-fine round, or successive-halving rung reached. */
  readonly round: number;
  readonly jobId: string | null;
  /** Path in the job spec → sampled value. */
  readonly values: Readonly<Record<string, unknown>>;
  readonly status: TrialStatus;
  readonly epochs: number;
  readonly budget: number;
  readonly metric: number | null;
  readonly error: string | null;
  readonly history: readonly { readonly round: number; readonly epochs: number; readonly metric: number | null }[];
  readonly progress: { readonly epoch: number; readonly epochs: number; readonly step: number; readonly steps: number } | null;
}

export interface StudyDimension {
  readonly type: "uniform" | "logUniform" | "oneMinusLog" | "int" | "choice";
  readonly scale: AxisScale;
  readonly min?: number;
  readonly max?: number;
  readonly values?: readonly unknown[];
  readonly points: readonly { readonly trialId: string; readonly value: unknown; readonly metric: number; readonly epochs: number }[];
}

export interface StudyBest {
  readonly trialId: string;
  readonly jobId: string | null;
  readonly values: Readonly<Record<string, unknown>>;
  readonly metric: number;
  readonly epochs: number;
  /** The job spec that reproduces the best trial: submit it as a job. */
  readonly spec: Record<string, unknown>;
}

export interface StudyCounts {
  readonly total: number;
  readonly pending: number;
  readonly running: number;
  readonly succeeded: number;
  readonly stopped: number;
  readonly failed: number;
  readonly cancelled: number;
}

export interface Study {
  readonly id: string;
  readonly name: string;
  readonly status: StudyStatus;
  readonly error: string | null;
  readonly createdAt: string;
  readonly finishedAt: string | null;
  readonly metric: StudyMetric;
  readonly strategy: StrategySpec;
  readonly spec: Record<string, unknown>;
  readonly round: number;
  readonly spaces: readonly Record<string, unknown>[];
  readonly counts: StudyCounts;
  /** Epochs trained by all of the study's jobs. */
  readonly epochs: number;
  readonly trials: readonly StudyTrial[];
  readonly best: StudyBest | null;
  readonly dimensions: Readonly<Record<string, StudyDimension>>;
}

export interface StudySummary {
  readonly id: string;
  readonly name: string;
  readonly status: StudyStatus;
  readonly strategy: StrategySpec["type"];
  readonly metric: StudyMetric;
  readonly counts: StudyCounts;
  readonly best: { readonly trialId: string; readonly metric: number; readonly values: Readonly<Record<string, unknown>> } | null;
  readonly createdAt: string;
  readonly finishedAt: string | null;
}

export interface FollowOptions {
  /** Time between polls, ms (default 1000). */
  readonly intervalMs?: number;
  readonly signal?: AbortSignal;
}

export class StudiesClient {
  readonly #client: EdgepropClient;

  constructor(options: ClientOptions) {
    this.#client = new EdgepropClient(options);
  }

  /** Submits a study; a bad one is refused whole (EdgepropError 400 naming the problem). */
  submit(spec: unknown): Promise<Study> {
    return this.#json("POST", "/v1/studies", spec);
  }

  get(id: string): Promise<Study> {
    return this.#json("GET", `/v1/studies/${encodeURIComponent(id)}`);
  }

  async list(): Promise<StudySummary[]> {
    return (await this.#json<{ studies: StudySummary[] }>("GET", "/v1/studies")).studies;
  }

  cancel(id: string): Promise<{ id: string; status: StudyStatus }> {
    return this.#json("POST", `/v1/studies/${encodeURIComponent(id)}/cancel`, {});
  }

  /**
   * The study every `intervalMs` while it runs (polling: a study's state is small and changes a
   * few times a second at most), yielding only when it changed; ends after yielding its final state.
   */
  async *follow(id: string, options: FollowOptions = {}): AsyncGenerator<Study> {
    const interval = options.intervalMs ?? 1000;
    let last = "";
    for (;;) {
      const study = await this.get(id);
      const text = JSON.stringify(study);
      if (text !== last) {
        last = text;
        yield study;
      }
      if (study.status !== "running" || options.signal?.aborted) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, interval);
        options.signal?.addEventListener("abort", () => {
          clearTimeout(timer);
          resolve();
        }, { once: true });
      });
    }
  }

  /** Waits until the study has ended and returns it. */
  async wait(id: string, options: FollowOptions = {}): Promise<Study> {
    let study: Study | null = null;
    for await (const s of this.follow(id, options)) study = s;
    return study ?? this.get(id);
  }

  #json<T>(method: string, path: string, body?: unknown): Promise<T> {
    return this.#client.requestJson<T>(method, path, body);
  }

}

/**
 * A study's trials best first, as a person reads a leaderboard: trials with a result by metric (for
 * successive halving, results on higher rungs first, since metrics after fewer epochs are not
 * comparable; a promoted trial still running ranks by its last rung), then running, pending, and
 * failed or cancelled ones; ties by trial order.
 */
export function rankTrials(study: Study): StudyTrial[] {
  const halving = study.strategy.type === "successiveHalving";
  const result = (t: StudyTrial) => (t.metric === null ? null : [...t.history].reverse().find((h) => h.metric !== null) ?? { round: t.round, metric: t.metric });
  const group = (t: StudyTrial) => (result(t) !== null ? 0 : t.status === "running" ? 1 : t.status === "pending" ? 2 : 3);
  return [...study.trials].sort((a, b) => {
    const ga = group(a), gb = group(b);
    if (ga !== gb) return ga - gb;
    if (ga === 0) {
      const ra = result(a)!, rb = result(b)!;
      const byRung = halving ? rb.round - ra.round : 0;
      if (byRung !== 0) return byRung;
      if (ra.metric !== rb.metric) return ra.metric! - rb.metric!;
    }
    return a.index - b.index;
  });
}
