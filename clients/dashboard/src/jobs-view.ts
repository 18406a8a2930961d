/**
 * The jobs list (`#/`): name, status, progress, best dev metric, started/finished, workers used,
 * study, with the trials of each study folded under one expandable row of their study; boxes to
 * pick jobs to compare (`#/compare/…`); the studies (`GET /v1/studies`); and a form to submit a job
 * spec. The lists have no event stream of their own in the API, so they are fetched again every
 * two seconds while the page is open; each job's page is live over SSE.
 */
import type { JobSummary } from "../../sdk/mod.ts";
import { EdgepropError } from "../../sdk/mod.ts";
import { compareHash } from "./compare-model.ts";
import { find, h, replaceChildren } from "./dom.ts";
import * as format from "./format.ts";
import { bestDevText, foldTrials, type JobListItem } from "./job-list-model.ts";
import { errorText, poll, statusBadge, type ViewContext } from "./view.ts";

/** A line of `GET /v1/studies`. */
interface StudySummary {
  readonly id: string;
  readonly name: string;
  readonly status: string;
  readonly strategy: string;
  readonly metric: string;
  readonly counts: { readonly total: number; readonly succeeded?: number; readonly stopped?: number; readonly failed?: number; readonly cancelled?: number };
  readonly best: { readonly trialId: string; readonly metric: number } | null;
  readonly createdAt: string;
}

/** A small job that trains in seconds on the builtin two-moons set: a starting point to edit. */
export const EXAMPLE_SPEC = {
  name: "moons-mlp",
  dataset: { id: "builtin:moons" },
  model: {
    input: [2],
    layers: [{ type: "dense", units: 16, init: "he" }, { type: "relu" }, { type: "dense", units: 2, init: "xavier" }],
    output: "softmax",
  },
  optimizer: { type: "adam", learningRate: 0.01 },
  schedule: { type: "inverseTime", decayRate: 0.1 },
  batchSize: 32,
  epochs: 10,
};

/** Renders the jobs and studies lists and the job form into `ctx.root`, polling until `ctx.signal` aborts. */
export function jobsView(ctx: ViewContext): void {
  const { api, root, signal } = ctx;
  const rows = h("tbody", { id: "jobs-rows" });
  // Kept across the list's refreshes: which studies are unfolded, which jobs are picked to compare.
  const expanded = new Set<string>();
  const selected: string[] = [];
  const studyInfo = new Map<string, StudySummary>();
  let shown: JobSummary[] = [];
  const compare = h("button", { type: "button", id: "compare-selected", disabled: true }, "Compare selected");
  compare.addEventListener("click", () => {
    location.hash = compareHash(selected);
  });
  const banner = h("p", { class: "banner", hidden: true });
  const specInput = h("textarea", { id: "spec-input", rows: 18, spellcheck: "false", "aria-label": "job spec (JSON)" });
  specInput.value = JSON.stringify(EXAMPLE_SPEC, null, 2);
  const formError = h("p", { class: "form-error", id: "spec-error", hidden: true });
  const submit = h("button", { type: "submit", id: "submit-job" }, "Start job");
  const form = h(
    "form",
    { class: "submit-form", id: "submit-form" },
    h("p", { class: "hint" }, "A job spec as in DESIGN.md; workers default to the coordinator's (--workers)."),
    specInput,
    formError,
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    formError.hidden = true;
    let spec: unknown;
    try {
      spec = JSON.parse(specInput.value);
    } catch (error) {
      formError.textContent = `The spec is not valid JSON: ${errorText(error)}`;
      formError.hidden = false;
      return;
    }
    submit.disabled = true;
    try {
      const { id } = await api.call((c) => c.submitJob(spec));
      location.hash = `#/jobs/${encodeURIComponent(id)}`;
    } catch (error) {
      formError.textContent = errorText(error);
      formError.hidden = false;
    } finally {
      submit.disabled = false;
    }
  });

  const studyRows = h("tbody", { id: "studies-rows" });
  const studies = h("section", { class: "card", id: "studies", hidden: true }, h("h2", {}, "Studies"), h("table", {},
    h("thead", {}, h("tr", {}, ...["Name", "Status", "Strategy", "Trials", "Best", "Created"].map((t) => h("th", {}, t)))),
    studyRows));

  replaceChildren(
    root,
    h("h1", {}, "Jobs"),
    banner,
    h("div", { class: "card" },
      h("div", { class: "actions" }, compare, h("span", { class: "hint" }, "Tick jobs to overlay their curves per epoch.")),
      h("table", { class: "jobs", id: "jobs-table" },
        h("thead", {}, h("tr", {}, ...["", "Name", "Status", "Progress", "Best dev", "Started", "Finished", "Workers", "Study"].map((t) => h("th", {}, t)))),
        rows)),
    studies,
    h("details", { class: "card", id: "new-job" }, h("summary", {}, "Start a job"), form),
  );

  void poll(async () => {
    const jobs = await api.call((c) => c.listJobs());
    banner.hidden = true;
    render(jobs);
  }, {
    everyMs: 2_000,
    signal,
    onError: (error) => {
      banner.textContent = `Cannot load the jobs: ${errorText(error)}`;
      banner.hidden = false;
    },
  });

  // A coordinator without studies answers 404: then the section stays hidden and is not asked again.
  void poll(async () => {
    try {
      const { studies: list } = await api.getJson<{ studies: StudySummary[] }>("/v1/studies");
      renderStudies(list);
    } catch (error) {
      if (error instanceof EdgepropError && error.status === 404) return false;
      throw error;
    }
  }, { everyMs: 2_000, signal });

  function renderStudies(list: StudySummary[]): void {
    studies.hidden = list.length === 0;
    // The jobs list names each study's folded row: drawn again when a study is new or changed state.
    const changed = list.some((s) => studyInfo.get(s.id)?.status !== s.status);
    for (const s of list) studyInfo.set(s.id, s);
    if (changed && shown.length > 0) render(shown);
    const sorted = [...list].sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
    replaceChildren(studyRows, ...sorted.map((s) => {
      const c = s.counts;
      const done = (c.succeeded ?? 0) + (c.stopped ?? 0) + (c.failed ?? 0) + (c.cancelled ?? 0);
      return h("tr", { "data-study-id": s.id },
        h("td", {}, h("a", { href: `#/studies/${encodeURIComponent(s.id)}` }, s.name || s.id)),
        h("td", {}, statusBadge(s.status)),
        h("td", {}, s.strategy),
        h("td", {}, `${done}/${c.total}`),
        h("td", {}, s.best ? `${s.best.trialId}: ${s.metric} ${/error/i.test(s.metric) ? format.percent(s.best.metric) : format.number(s.best.metric)}` : "—"),
        h("td", {}, format.time(s.createdAt)));
    }));
  }

  function render(jobs: JobSummary[]): void {
    shown = jobs;
    if (jobs.length === 0) {
      replaceChildren(rows, h("tr", {}, h("td", { colspan: COLUMNS, class: "empty" }, "No jobs yet: start one below, or with `edgeprop train`.")));
      return;
    }
    replaceChildren(rows, ...foldTrials(jobs).flatMap(item));
    find(root, "#jobs-table").dataset.jobs = String(jobs.length);
    renderCompare();
  }

  function item(entry: JobListItem): HTMLTableRowElement[] {
    if (entry.kind === "job") return [row(entry.job)];
    const { studyId, trials } = entry;
    const open = expanded.has(studyId);
    const children = trials.map((t) => {
      const r = row(t);
      r.classList.add("trial");
      r.dataset.studyTrial = studyId;
      r.hidden = !open;
      return r;
    });
    const fold = h("button", { type: "button", class: "fold", "aria-expanded": String(open), title: open ? "fold the trials" : "show the trials" }, open ? "▾" : "▸");
    fold.addEventListener("click", () => {
      const now = !expanded.has(studyId);
      if (now) expanded.add(studyId);
      else expanded.delete(studyId);
      fold.setAttribute("aria-expanded", String(now));
      fold.textContent = now ? "▾" : "▸";
      for (const c of children) c.hidden = !now;
    });
    const done = trials.filter((t) => t.status === "succeeded" || t.status === "failed" || t.status === "cancelled").length;
    const counts = Object.entries(entry.counts).map(([status, n]) => `${n} ${status}`).join(", ");
    const finished = done === trials.length ? trials.map((t) => t.finishedAt ?? "").sort().at(-1) : null;
    const started = trials.map((t) => t.startedAt).filter((t): t is string => t !== null).sort()[0] ?? null;
    const workers = new Set(trials.flatMap((t) => t.workers));
    const href = `#/studies/${encodeURIComponent(studyId)}`;
    const header = h("tr", { class: "study-row", "data-study-id": studyId, "data-trials": trials.length },
      h("td", {}, fold),
      h("td", {}, h("a", { href }, studyInfo.get(studyId)?.name || studyId), h("span", { class: "muted" }, ` · ${trials.length} trial${trials.length === 1 ? "" : "s"}`)),
      h("td", {}, studyInfo.has(studyId) ? statusBadge(studyInfo.get(studyId)!.status) : null, h("span", { class: "muted" }, ` ${counts}`)),
      h("td", {}, h("progress", { max: 1, value: done / trials.length }), h("span", { class: "muted" }, ` ${done}/${trials.length} trials done`)),
      h("td", { title: "the lowest best dev value of the trials" }, entry.best ? bestDevText(entry.best) : "—"),
      h("td", {}, format.time(started)),
      h("td", {}, format.time(finished)),
      h("td", { title: [...workers].join("\n") }, String(workers.size)),
      h("td", {}, h("a", { href }, studyId)));
    return [header, ...children];
  }

  function row(job: JobSummary): HTMLTableRowElement {
    const p = job.progress;
    const fraction = progressFraction(job);
    const pick = h("input", { type: "checkbox", class: "pick", "data-job-id": job.id, checked: selected.includes(job.id), "aria-label": `compare ${job.name || job.id}` });
    pick.addEventListener("change", () => {
      const at = selected.indexOf(job.id);
      if (pick.checked && at < 0) selected.push(job.id);
      if (!pick.checked && at >= 0) selected.splice(at, 1);
      renderCompare();
    });
    return h(
      "tr",
      { "data-job-id": job.id },
      h("td", {}, pick),
      h("td", {}, h("a", { href: `#/jobs/${encodeURIComponent(job.id)}` }, job.name || job.id)),
      h("td", {}, statusBadge(job.status)),
      h("td", {}, h("progress", { max: 1, value: fraction }), h("span", { class: "muted" }, ` epoch ${Math.min(p.epoch + 1, p.epochs)}/${p.epochs}${p.members > 1 ? ` · member ${p.member + 1}/${p.members}` : ""}`)),
      h("td", { class: "best-dev", title: "lowest dev error (dev loss for regression) over the epochs so far" }, bestDevText(job)),
      h("td", {}, format.time(job.startedAt)),
      h("td", {}, format.time(job.finishedAt)),
      h("td", { title: job.workers.join("\n") }, String(job.workers.length)),
      h("td", {}, job.studyId ? h("a", { href: `#/studies/${encodeURIComponent(job.studyId)}` }, job.studyId) : "—"),
    );
  }

  function renderCompare(): void {
    compare.disabled = selected.length === 0;
    compare.textContent = selected.length === 0 ? "Compare selected" : `Compare selected (${selected.length})`;
  }
}

const COLUMNS = 9;

/** Done fraction of a job over all members, epochs and steps (1 once it succeeded). */
export function progressFraction(job: Pick<JobSummary, "status" | "progress">): number {
  if (job.status === "succeeded") return 1;
  const p = job.progress;
  const perEpoch = p.steps > 0 ? p.step / p.steps : 0;
  const members = Math.max(1, p.members);
  const epochs = Math.max(1, p.epochs);
  return Math.min(1, (p.member + (p.epoch + perEpoch) / epochs) / members);
}
