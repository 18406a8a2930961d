/**
 * A study's page (`#/studies/:id`): one scatter plot per hyperparameter against the study's metric
 * (log axis where the space is logarithmic), the trials table sortable by metric, and the best
 * trial highlighted in both. The API has no event stream for studies, so the page fetches
 * `GET /v1/studies/:id` every 1.5 s until the study has finished.
 */
import { EdgepropError } from "../../sdk/mod.ts";
import { Plot, scatterOptions } from "./charts.ts";
import { h, replaceChildren } from "./dom.ts";
import * as format from "./format.ts";
import { type DimensionPlot, isFinished, sortTrials, type Study, studyDimensions, studyMetric, type Trial } from "./study-model.ts";
import { errorText, poll, statusBadge, type ViewContext } from "./view.ts";

/** Renders study `id` into `ctx.root`, polling it until it has finished or `ctx.signal` aborts. */
export function studyView(ctx: ViewContext, id: string): void {
  const { api, root, signal } = ctx;
  let study: Study | null = null;
  let direction: "asc" | "desc" = "asc";
  const plots = new Map<string, { plot: Plot; key: string }>();

  const title = h("h1", {}, "Study");
  const status = h("span", { id: "study-status" });
  const summary = h("p", { class: "muted", id: "study-summary" });
  const banner = h("p", { class: "banner", id: "study-banner", hidden: true });
  const cancel = h("button", { type: "button", id: "cancel-study", disabled: true }, "Cancel study");
  const best = h("div", { id: "best-trial" });
  const charts = h("div", { class: "grid", id: "study-charts" });
  const sortButton = h("button", { type: "button", class: "sort", id: "sort-metric", "aria-label": "sort by metric" });
  const rows = h("tbody", { id: "trials-rows" });
  const head = h("tr", {});
  const table = h("table", { class: "trials", id: "trials-table" }, h("thead", {}, head), rows);

  replaceChildren(
    root,
    h("p", {}, h("a", { href: "#/" }, "← Jobs")),
    h("div", { class: "job-header" }, title, status),
    h("div", { class: "actions" }, cancel),
    summary,
    banner,
    h("section", { class: "card wide" }, h("h2", {}, "Best trial"), best),
    h("h2", {}, "Hyperparameters against the metric"),
    charts,
    h("section", { class: "card wide" }, h("h2", {}, "Trials"), table),
  );
  signal.addEventListener("abort", () => {
    for (const { plot } of plots.values()) plot.destroy();
  });
  cancel.addEventListener("click", async () => {
    cancel.disabled = true;
    try {
      const answer = await api.json<{ status: Study["status"] }>("POST", `/v1/studies/${encodeURIComponent(id)}/cancel`, {});
      if (study) study = { ...study, status: answer.status };
      render();
    } catch (error) {
      banner.textContent = `Cannot cancel: ${errorText(error)}`;
      banner.hidden = false;
      render();
    }
  });
  sortButton.addEventListener("click", () => {
    direction = direction === "asc" ? "desc" : "asc";
    renderTable();
  });

  void poll(async () => {
    try {
      study = await api.getJson<Study>(`/v1/studies/${encodeURIComponent(id)}`);
    } catch (error) {
      if (error instanceof EdgepropError && error.status === 404) {
        banner.textContent = `There is no study '${id}' on this coordinator.`;
        banner.hidden = false;
        return false;
      }
      throw error;
    }
    const failure = typeof study.error === "string" && study.error ? `The study failed: ${study.error}` : null;
    banner.textContent = failure ?? "";
    banner.hidden = failure === null;
    render();
    return !isFinished(study.status);
  }, {
    everyMs: 1_500,
    signal,
    onError: (error) => {
      banner.textContent = `Cannot load the study: ${errorText(error)}`;
      banner.hidden = false;
    },
  });

  const metricName = () => (study ? studyMetric(study) : "metric");

  function render(): void {
    if (!study) return;
    title.textContent = study.name ? `Study ${study.name}` : `Study ${study.id}`;
    root.dataset.status = study.status;
    cancel.disabled = isFinished(study.status);
    replaceChildren(status, statusBadge(study.status), " ", h("code", { class: "muted" }, study.id));
    const done = study.trials.filter((t) => isFinished(t.status)).length;
    summary.textContent = `${study.trials.length} trials, ${done} finished · ranked by ${metricName()} (lower is better)`;
    renderBest();
    renderCharts();
    renderTable();
  }

  function renderBest(): void {
    const b = study?.best;
    if (!b) {
      replaceChildren(best, h("p", { class: "muted" }, "No trial has a metric yet."));
      return;
    }
    const trial = study!.trials.find((t) => t.id === b.trialId);
    best.dataset.trialId = b.trialId;
    replaceChildren(
      best,
      h("p", {}, h("strong", {}, b.trialId), ` · ${metricName()} ${metricText(b.metric)}`,
        trial?.jobId ? h("span", {}, " · ", h("a", { href: `#/jobs/${encodeURIComponent(trial.jobId)}` }, "its job")) : null),
      h("table", { class: "compact" }, h("tbody", {}, ...Object.entries(b.values).map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, format.value(v)))))),
    );
  }

  function renderCharts(): void {
    const dims = studyDimensions(study!);
    for (const dim of dims) {
      const key = `${dim.scale}|${dim.categories.join(",")}`;
      let entry = plots.get(dim.path);
      if (!entry || entry.key !== key) {
        entry?.plot.destroy();
        const container = plots.has(dim.path)
          ? charts.querySelector<HTMLElement>(`[data-dimension="${CSS.escape(dim.path)}"] .chart`)!
          : newChart(dim);
        container.dataset.scale = dim.scale;
        const current = dim;
        entry = { plot: new Plot(container, (width) => scatterOptions(width, { plot: current, metric: metricName() })), key };
        plots.set(dim.path, entry);
      }
      entry.plot.setData(scatterData(dim), dim.points.length);
    }
  }

  function newChart(dim: DimensionPlot): HTMLElement {
    const container = h("div", { class: "chart", "data-chart": "scatter", "data-points": 0 });
    charts.append(h("section", { class: "card", "data-dimension": dim.path }, h("h3", {}, dim.path, h("span", { class: "muted" }, ` · ${dim.scale === "log" ? "log scale" : dim.scale === "oneMinusLog" ? "1 − x on a log scale" : dim.scale === "category" ? "choices" : "linear scale"}`)), container));
    return container;
  }

  function renderTable(): void {
    if (!study) return;
    const paths = [...new Set(study.trials.flatMap((t) => Object.keys(t.values ?? {})))];
    sortButton.textContent = `${metricName()} ${direction === "asc" ? "▲" : "▼"}`;
    sortButton.dataset.direction = direction;
    replaceChildren(head, ...["Trial", "Status", "Epochs", ...paths].map((t) => h("th", {}, t)), h("th", { "aria-sort": direction === "asc" ? "ascending" : "descending" }, sortButton), h("th", {}, "Job"));
    const bestId = study.best?.trialId ?? null;
    replaceChildren(rows, ...sortTrials(study.trials, direction).map((t: Trial) => h(
      "tr",
      { "data-trial-id": t.id, class: t.id === bestId ? "best" : null, "aria-current": t.id === bestId ? "true" : null },
      h("td", {}, t.id, t.id === bestId ? h("span", { class: "best-badge" }, " best") : null),
      h("td", {}, statusBadge(t.status)),
      h("td", {}, t.epochs === null || t.epochs === undefined ? "—" : String(t.epochs)),
      ...paths.map((p) => h("td", {}, p in (t.values ?? {}) ? format.value(t.values[p]) : "—")),
      h("td", { class: "metric" }, metricText(t.metric)),
      h("td", {}, t.jobId ? h("a", { href: `#/jobs/${encodeURIComponent(t.jobId)}` }, "open") : "—"),
    )));
  }

  function metricText(value: number | null): string {
    return /error/i.test(metricName()) ? format.percent(value) : format.number(value);
  }
}

/** uPlot's aligned data for a scatter: x, every trial's metric, and the best trial's alone. */
function scatterData(dim: DimensionPlot): [number[], (number | null)[], (number | null)[]] {
  return [dim.points.map((p) => p.x), dim.points.map((p) => p.metric), dim.points.map((p) => (p.best ? p.metric : null))];
}
