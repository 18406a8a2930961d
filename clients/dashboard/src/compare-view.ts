/**
 * The compare page (`#/compare/<id>,<id>,…`): the picked jobs' curves overlaid per epoch, train
 * and dev loss on one chart (linear or log scale) and dev error on another, each job one color.
 * Jobs are picked on this page or on the jobs list; the URL keeps the pick, so it can be shared.
 * Epoch curves change once per epoch, so the page polls running jobs instead of streaming them.
 */
import type { EpochMetrics, JobSummary } from "../../sdk/mod.ts";
import { JOB_COLORS, overlayOptions, Plot } from "./charts.ts";
import { type CompareJob, compareHash, overlaySeries, plottedPoints } from "./compare-model.ts";
import { h, replaceChildren } from "./dom.ts";
import { errorText, poll, statusBadge, type ViewContext } from "./view.ts";

const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);

/** Renders the compare page for `initial` into `ctx.root`, polling until `ctx.signal` aborts. */
export function compareView(ctx: ViewContext, initial: readonly string[]): void {
  const { api, root, signal } = ctx;
  let picked = [...new Set(initial)];
  let log = false;
  let list: JobSummary[] = [];
  const loaded = new Map<string, { readonly status: string; readonly epochs: readonly EpochMetrics[] }>();

  const banner = h("p", { class: "banner", hidden: true });
  const picker = h("div", { class: "picker", id: "compare-picker" });
  const logToggle = h("input", { id: "log-loss", type: "checkbox" });
  const lossChart = h("div", { class: "chart", id: "chart-compare-loss", "data-chart": "compare-loss", "data-points": 0 });
  const errorChart = h("div", { class: "chart", id: "chart-compare-error", "data-chart": "compare-error", "data-points": 0 });
  const empty = h("p", { class: "muted", id: "compare-empty" }, "Pick jobs above to overlay their curves.");
  const section = h("div", { class: "grid", id: "compare-charts", "data-jobs": 0 },
    h("section", { class: "card wide" },
      h("h2", {}, "Loss per epoch"),
      h("div", { class: "controls" }, h("label", {}, logToggle, " log scale")),
      h("p", { class: "hint" }, "Solid: the training loss, the mean mini-batch loss of the epoch as it trained (dropout on); dashed: the dev loss after the epoch."),
      lossChart),
    h("section", { class: "card wide" }, h("h2", {}, "Dev error per epoch"), errorChart));

  replaceChildren(root, h("p", {}, h("a", { href: "#/" }, "← Jobs")), h("h1", {}, "Compare jobs"), banner,
    h("section", { class: "card" }, h("h2", {}, "Jobs"), picker), empty, section);

  let lossPlot: Plot | null = null;
  let errorPlot: Plot | null = null;
  let drawnKey = "";
  signal.addEventListener("abort", () => {
    lossPlot?.destroy();
    errorPlot?.destroy();
  });

  logToggle.addEventListener("change", () => {
    log = logToggle.checked;
    draw();
  });

  async function load(id: string): Promise<void> {
    const [job, metrics] = await Promise.all([api.call((c) => c.getJob(id)), api.call((c) => c.getMetrics(id))]);
    loaded.set(id, { status: job.status, epochs: metrics.epochs });
  }

  function pick(id: string, on: boolean): void {
    picked = on ? [...picked.filter((p) => p !== id), id] : picked.filter((p) => p !== id);
    // replaceState: the page stays as it is (a hash change would render it again).
    history.replaceState(null, "", compareHash(picked));
    void Promise.all(picked.filter((p) => !loaded.has(p)).map(load)).then(draw, showError);
    draw();
    renderPicker();
  }

  function renderPicker(): void {
    const known = new Set(list.map((j) => j.id));
    const rows = [...list, ...picked.filter((id) => !known.has(id)).map((id) => ({ id, name: id, status: loaded.get(id)?.status ?? "unknown", studyId: null }))];
    replaceChildren(picker, ...rows.map((job) => {
      const box = h("input", { type: "checkbox", class: "pick", "data-job-id": job.id, checked: picked.includes(job.id), "aria-label": `compare ${job.name || job.id}` });
      box.addEventListener("change", () => pick(job.id, box.checked));
      const color = picked.indexOf(job.id);
      const swatch = h("span", { class: "swatch" });
      if (color >= 0) swatch.style.background = JOB_COLORS[color % JOB_COLORS.length];
      return h("label", { class: "pick-row" }, box, " ", swatch, " ", job.name || job.id, " ", statusBadge(job.status),
        job.studyId ? h("span", { class: "muted" }, ` · ${job.studyId}`) : null);
    }));
  }

  function draw(): void {
    const jobs: CompareJob[] = picked.filter((id) => loaded.has(id)).map((id) => ({ id, name: label(id), epochs: loaded.get(id)!.epochs }));
    empty.hidden = jobs.length > 0;
    section.hidden = jobs.length === 0;
    section.dataset.jobs = String(jobs.length);
    if (jobs.length === 0) return;
    const overlay = overlaySeries(jobs, { log });
    const colorOf = (jobId: string) => JOB_COLORS[picked.indexOf(jobId) % JOB_COLORS.length];
    // The series (and the y scale) are part of uPlot's options: a new pick or scale makes new charts.
    const key = `${jobs.map((j) => j.id).join(",")}|${log}`;
    if (key !== drawnKey) {
      drawnKey = key;
      lossPlot?.destroy();
      errorPlot?.destroy();
      replaceChildren(lossChart);
      replaceChildren(errorChart);
      lossPlot = new Plot(lossChart, (width) => overlayOptions(width, { kind: "loss", log, curves: overlay.loss, colorOf }));
      errorPlot = new Plot(errorChart, (width) => overlayOptions(width, { kind: "error", log: false, curves: overlay.error, colorOf }));
    }
    const x = [...overlay.x];
    lossPlot!.setData([x, ...overlay.loss.map((c) => [...c.values])], plottedPoints(overlay.loss));
    errorPlot!.setData([x, ...overlay.error.map((c) => [...c.values])], plottedPoints(overlay.error));
  }

  /** A job's name in the legend, with its id when another picked job has the same name. */
  function label(id: string): string {
    const name = list.find((j) => j.id === id)?.name || id;
    const same = picked.filter((p) => (list.find((j) => j.id === p)?.name || p) === name).length;
    return same > 1 ? `${name} (${id})` : name;
  }

  function showError(error: unknown): void {
    banner.textContent = `Cannot load the jobs: ${errorText(error)}`;
    banner.hidden = false;
  }

  void poll(async () => {
    list = [...(await api.call((c) => c.listJobs()))].sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
    // Finished jobs are loaded once; running ones again at every poll, for their new epochs.
    await Promise.all(picked.filter((id) => !TERMINAL.has(loaded.get(id)?.status ?? "")).map(load));
    banner.hidden = true;
    renderPicker();
    draw();
  }, { everyMs: 2_000, signal, onError: showError });
}
