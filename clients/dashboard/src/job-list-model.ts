/**
 * The jobs list's rows apart from the DOM: trials of a study folded under one row of their study
 * (a study of 16 trials is one line, expanded on demand), placed where its newest trial would be,
 * and the best dev value written the one way the page writes it (errors as percentages).
 */
import type { JobSummary } from "../../sdk/mod.ts";
import * as format from "./format.ts";

export type JobListItem =
  | { readonly kind: "job"; readonly job: JobSummary }
  | { readonly kind: "study"; readonly studyId: string; readonly trials: readonly JobSummary[]; readonly counts: Readonly<Record<string, number>>; readonly best: JobSummary | null };

const newestFirst = (a: JobSummary, b: JobSummary) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0);

/** Jobs newest first, trials of each study gathered into one study item at its newest trial's place. */
export function foldTrials(jobs: readonly JobSummary[]): JobListItem[] {
  const sorted = [...jobs].sort(newestFirst);
  const studies = new Map<string, JobSummary[]>();
  for (const job of sorted) {
    if (job.studyId === null) continue;
    const trials = studies.get(job.studyId) ?? [];
    trials.push(job);
    studies.set(job.studyId, trials);
  }
  const items: JobListItem[] = [];
  for (const job of sorted) {
    if (job.studyId === null) {
      items.push({ kind: "job", job });
      continue;
    }
    const trials = studies.get(job.studyId);
    if (!trials) continue; // its study's item is already placed
    studies.delete(job.studyId);
    const counts: Record<string, number> = {};
    for (const t of trials) counts[t.status] = (counts[t.status] ?? 0) + 1;
    // bestDev of trials of one study measures the same thing (one spec family): the lowest wins.
    const scored = trials.filter((t) => t.bestDev !== null);
    const best = scored.reduce<JobSummary | null>((b, t) => (b === null || t.bestDev! < b.bestDev! ? t : b), null);
    items.push({ kind: "study", studyId: job.studyId, trials, counts, best });
  }
  return items;
}

/** A job's best dev value: a classifier's dev error as a percentage, a regression's dev loss as a number. */
export function bestDevText(job: Pick<JobSummary, "bestDev" | "bestDevMetric">): string {
  return job.bestDevMetric === "devLoss" ? format.number(job.bestDev) : format.percent(job.bestDev);
}
