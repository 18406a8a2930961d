/**
 * The compare page's data apart from the DOM: several jobs' per-epoch curves on one shared epoch
 * axis, for overlaying them (train and dev loss; dev error). Ensemble members follow one another
 * as on a job's own page. The training loss is the epoch's mean mini-batch loss (dropout on). On a log scale a loss that is not positive has no place: it is left out.
 */
import type { EpochMetrics } from "../../sdk/mod.ts";

export interface CompareJob {
  readonly id: string;
  readonly name: string;
  readonly epochs: readonly EpochMetrics[];
}

export interface OverlayCurve {
  readonly jobId: string;
  readonly label: string;
  /** Which value of the epoch entries: "trainLoss", "devLoss" or "devError". */
  readonly metric: "trainLoss" | "devLoss" | "devError";
  /** One value per x (null where the job has no such epoch, or the value is missing). */
  readonly values: readonly (number | null)[];
}

export interface Overlay {
  /** Epochs from 1 to the longest job's count. */
  readonly x: readonly number[];
  /** Per job, in the order given: its train loss, then its dev loss. */
  readonly loss: readonly OverlayCurve[];
  /** Per job, in the order given: its dev error (a fraction). */
  readonly error: readonly OverlayCurve[];
}

/** The hash of the compare page for `ids` (in the order picked, which gives the colors). */
export function compareHash(ids: readonly string[]): string {
  return `#/compare/${ids.map(encodeURIComponent).join(",")}`;
}

/** The jobs' curves on one epoch axis; `log` drops the losses a log axis cannot show (≤ 0, not finite). */
export function overlaySeries(jobs: readonly CompareJob[], options: { readonly log: boolean }): Overlay {
  const sequences = jobs.map((job) => ({ job, epochs: [...job.epochs].sort((a, b) => a.member - b.member || a.epoch - b.epoch) }));
  const length = Math.max(0, ...sequences.map((s) => s.epochs.length));
  const x = Array.from({ length }, (_, i) => i + 1);
  const curve = (job: CompareJob, epochs: readonly EpochMetrics[], metric: OverlayCurve["metric"], label: string): OverlayCurve => {
    const values = x.map((_, i) => {
      const v = epochs[i]?.[metric] ?? null;
      if (v === null || !Number.isFinite(v)) return null;
      return options.log && metric !== "devError" && v <= 0 ? null : v;
    });
    return { jobId: job.id, label, metric, values };
  };
  return {
    x,
    loss: sequences.flatMap(({ job, epochs }) => [curve(job, epochs, "trainLoss", `${job.name} training loss`), curve(job, epochs, "devLoss", `${job.name} dev loss`)]),
    error: sequences.map(({ job, epochs }) => curve(job, epochs, "devError", `${job.name} dev error`)),
  };
}

/** The number of values a set of curves plots (what a chart reports in `data-points`). */
export function plottedPoints(curves: readonly OverlayCurve[]): number {
  return curves.reduce((n, c) => n + c.values.filter((v) => v !== null).length, 0);
}
