/**
 * Hyperparameter studies from a client (`/v1/studies`, DESIGN.md "Study spec"): submit, follow,
 * read and cancel a study, through `EdgepropClient` (same options, same `EdgepropError`), so it
 * runs unchanged in Node, Deno and browsers.
 */
import type { BestView, DimensionView, StudyStatus, StudySummary, StudyView, TrialView } from "../../core/job/study-api.ts";
import { type ClientOptions, EdgepropClient } from "./client.ts";
import type { Page, PageOptions } from "./types.ts";

export type {
  AxisScale,
  CoarseToFineStrategy,
  GridStrategy,
  RandomStrategy,
  StrategySpec,
  StudyCounts,
  StudyMetric,
  StudyStatus,
  StudySummary,
  SuccessiveHalvingStrategy,
  TrialResult,
  TrialStatus,
} from "../../core/job/study-api.ts";
/** A study as `GET /v1/studies/:id` returns it (specs as plain JSON). */
export type Study = StudyView;
export type StudyTrial = TrialView;
export type StudyDimension = DimensionView;
export type StudyBest = BestView;

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

  /** One page of the studies, newest first. */
  listPage(options: PageOptions = {}): Promise<Page<StudySummary>> {
    return this.#client.page("/v1/studies", "studies", options);
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
