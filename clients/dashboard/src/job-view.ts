/**
 * A job's page (`#/jobs/:id`): training loss (raw and smoothed, β and bias correction chosen
 * here), train and dev error per epoch with the early-stopping epoch, learning rate, the
 * bias/variance verdict, the spec, throughput and step-time breakdown, worker health, and
 * buttons: cancel, download the model (once it succeeded), the last checkpoint (while it runs
 * too: the parameters so far) and the metrics as CSV, and compare with other jobs.
 *
 * Opened mid-job it loads the persisted history (`GET /v1/jobs/:id/metrics`) and then follows
 * `GET /v1/jobs/:id/events`, which replays the events still buffered; the history keys entries by
 * step, so the overlap counts once, and a gap the buffer could not fill is fetched again at the
 * next checkpoint. Opened after the job ended, the history is complete and no stream is opened.
 */
import { EdgepropError, type EpochMetrics, type Job, type JobEvent, type StepTiming, type WorkerStatus } from "../../sdk/mod.ts";
import { epochOptions, learningRateOptions, lossOptions, Plot } from "./charts.ts";
import { compareHash } from "./compare-model.ts";
import { h, replaceChildren } from "./dom.ts";
import { saveFile } from "./download.ts";
import * as format from "./format.ts";
import { communicationText, distributionText, epochSeries, JobHistory, lossSeries } from "./job-model.ts";
import { progressFraction } from "./jobs-view.ts";
import { errorText, poll, sleep, statusBadge, type ViewContext } from "./view.ts";

const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);
const BREAKDOWN: readonly (keyof StepTiming)[] = ["plan", "encode", "transfer", "compute", "decode", "reduce", "optimizer"];

/** Redraws at most this often while steps stream in. */
const REDRAW_MS = 150;

/** Renders job `id` into `ctx.root` and keeps it live until `ctx.signal` aborts (see the file comment). */
export function jobView(ctx: ViewContext, id: string): void {
  const { api, root, signal } = ctx;
  const history = new JobHistory();
  let job: Job | null = null;
  let workers: WorkerStatus[] = [];
  let smoothing = { beta: 0.9, biasCorrection: true };
  let drawn = -1;
  let epochKind: "error" | "loss" | null = null;
  let bestX: number | null = null;
  let checkpointed = false;

  // --- the page's skeleton --------------------------------------------------------------------
  const title = h("h1", {}, "Job");
  const status = h("span", { id: "job-status" });
  const progress = h("progress", { id: "job-progress", max: 1, value: 0 });
  const progressText = h("span", { class: "muted", id: "job-progress-text" });
  const distribution = h("span", { class: "muted", id: "job-distribution" });
  const liveState = h("span", { class: "live", id: "live-state" });
  const cancel = h("button", { type: "button", id: "cancel-job", disabled: true }, "Cancel job");
  const download = h("button", { type: "button", id: "download-model", disabled: true }, "Download model");
  const downloadCheckpoint = h("button", { type: "button", id: "download-checkpoint", disabled: true, title: "the trainer's state at its last checkpoint: the parameters so far (GET /v1/jobs/:id/checkpoint)" }, "Download last checkpoint");
  const downloadCsv = h("button", { type: "button", id: "download-csv", disabled: true }, "Metrics as CSV");
  const banner = h("p", { class: "banner", id: "job-banner", hidden: true });
  const jobError = h("p", { class: "banner error", id: "job-error", hidden: true });

  const beta = h("input", { id: "beta", type: "range", min: 0, max: 0.999, step: 0.001, value: smoothing.beta, "aria-label": "β of the smoothing average" });
  const betaValue = h("output", { id: "beta-value", for: "beta" });
  const biasCorrection = h("input", { id: "bias-correction", type: "checkbox", checked: smoothing.biasCorrection });
  const lossChart = h("div", { class: "chart", id: "chart-loss", "data-chart": "loss", "data-points": 0 });
  const epochChart = h("div", { class: "chart", id: "chart-epochs", "data-chart": "epochs", "data-points": 0 });
  const lrChart = h("div", { class: "chart", id: "chart-lr", "data-chart": "lr", "data-points": 0 });
  const earlyStop = h("p", { class: "muted", id: "early-stop" });
  const verdict = h("div", { id: "verdict" });
  const metrics = h("div", { id: "final-metrics" });
  const throughput = h("div", { id: "throughput" });
  const communicationLine = h("p", { id: "communication" });
  const workerTable = h("div", { id: "workers" });
  const spec = h("pre", { id: "spec", class: "spec" });

  replaceChildren(
    root,
    h("p", {}, h("a", { href: "#/" }, "← Jobs")),
    h("div", { class: "job-header" }, title, status, liveState),
    h("div", { class: "job-progress" }, progress, progressText, distribution),
    h("div", { class: "actions" }, cancel, download, downloadCheckpoint, downloadCsv, h("a", { href: compareHash([id]), id: "compare-link" }, "Compare with other jobs")),
    banner,
    jobError,
    h("div", { class: "grid" },
      h("section", { class: "card wide" },
        h("h2", {}, "Training loss"),
        h("div", { class: "controls" },
          h("label", {}, "β ", beta, " ", betaValue),
          h("label", {}, biasCorrection, " bias correction v", h("sub", {}, "t"), "/(1 − β", h("sup", {}, "t"), ")")),
        h("p", { class: "hint" }, "Smoothed: v", h("sub", {}, "t"), " = β·v", h("sub", {}, "t−1"), " + (1 − β)·θ", h("sub", {}, "t"), ", v", h("sub", {}, "0"), " = 0, over the raw mini-batch losses θ", h("sub", {}, "t"), "."),
        lossChart),
      h("section", { class: "card" }, h("h2", {}, "Train and dev per epoch"), epochChart, earlyStop),
      h("section", { class: "card" }, h("h2", {}, "Learning rate"), lrChart),
      h("section", { class: "card" }, h("h2", {}, "Bias and variance"), verdict),
      h("section", { class: "card" }, h("h2", {}, "Metrics"), metrics),
      h("section", { class: "card" }, h("h2", {}, "Throughput and step time"), throughput),
      h("section", { class: "card wide" }, h("h2", {}, "Workers"), workerTable),
      h("section", { class: "card wide" }, h("h2", {}, "Spec"), spec),
    ),
  );

  const smoothingLabel = () => `smoothed (β=${smoothing.beta}${smoothing.biasCorrection ? ", corrected" : ""})`;
  const loss = new Plot(lossChart, (width) => lossOptions(width, smoothingLabel()));
  const lr = new Plot(lrChart, (width) => learningRateOptions(width));
  let epochsPlot: Plot | null = null;
  signal.addEventListener("abort", () => {
    loss.destroy();
    lr.destroy();
    epochsPlot?.destroy();
  });

  const onSmoothing = () => {
    smoothing = { beta: Number(beta.value), biasCorrection: biasCorrection.checked };
    betaValue.textContent = `${smoothing.beta.toFixed(3)} (≈ ${Math.round(1 / (1 - smoothing.beta))} steps)`;
    drawn = -1;
    drawCharts();
    loss.reset();
  };
  beta.addEventListener("input", onSmoothing);
  biasCorrection.addEventListener("change", onSmoothing);
  betaValue.textContent = `${smoothing.beta.toFixed(3)} (≈ 10 steps)`;

  cancel.addEventListener("click", async () => {
    cancel.disabled = true;
    try {
      const answer = await api.call((c) => c.cancelJob(id));
      if (job) job = { ...job, status: answer.status as Job["status"] };
      renderHeader();
      await refresh();
    } catch (error) {
      showBanner(`Cannot cancel: ${errorText(error)}`);
      renderHeader();
    }
  });
  /** Runs a download behind `button` (fetched with the token), a banner naming `what` when it fails. */
  const downloads = (button: HTMLButtonElement, what: string, fetchFile: () => Promise<void>) => {
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await fetchFile();
      } catch (error) {
        showBanner(`Cannot download ${what}: ${errorText(error)}`);
      } finally {
        renderHeader();
      }
    });
  };
  downloads(download, "the model", async () => saveFile(await api.call((c) => c.downloadModel(id)), `${id}.msgpack`, "application/x-msgpack"));
  downloads(downloadCheckpoint, "the checkpoint", async () => saveFile(await api.call((c) => c.downloadCheckpoint(id)), `${id}-checkpoint.msgpack`, "application/x-msgpack"));
  downloads(downloadCsv, "the metrics", async () => saveFile(await api.call((c) => c.getMetricsCsv(id)), `${id}-metrics.csv`, "text/csv; charset=utf-8"));

  // --- data ---------------------------------------------------------------------------------------
  async function loadMetrics(): Promise<void> {
    const saved = await api.call((c) => c.getMetrics(id));
    for (const s of saved.steps) history.addStep(s);
    for (const e of saved.epochs) history.addEpoch(e);
  }

  async function refresh(): Promise<void> {
    job = await api.call((c) => c.getJob(id));
    await loadMetrics();
    renderAll();
  }

  function onEvent(event: JobEvent): void {
    if (!job) return;
    switch (event.type) {
      case "progress": {
        const { communication, ...progress } = event.data;
        job = { ...job, status: job.status === "queued" ? "running" : job.status, progress, communication: communication ?? job.communication };
        renderHeader();
        if (communication) renderCommunication();
        break;
      }
      case "metrics":
        history.addStep(event.data);
        scheduleCharts();
        break;
      case "epoch": {
        const e: EpochMetrics = event.data;
        history.addEpoch(e);
        job = {
          ...job,
          metrics: { ...job.metrics, trainLoss: e.trainLoss, trainError: e.trainError, devLoss: e.devLoss, devError: e.devError },
          throughput: { examplesPerSecond: e.examplesPerSecond },
          timing: { stepMs: e.stepMs, breakdown: e.breakdown },
        };
        renderStats();
        scheduleCharts();
        break;
      }
      case "checkpoint":
        checkpointed = true;
        renderHeader();
        if (history.hasGap()) void loadMetrics().then(scheduleCharts, () => {});
        break;
      case "done":
      case "failed":
      case "cancelled":
        job = { ...job, status: event.data.status, ...(event.data.diagnosis !== undefined ? { diagnosis: event.data.diagnosis } : {}) };
        renderHeader();
        break;
    }
  }

  /** Follows the event stream until the job ends, reconnecting (from the last event id) when it drops. */
  async function follow(): Promise<void> {
    let lastEventId = 0;
    while (!signal.aborted && job && !TERMINAL.has(job.status)) {
      const client = await api.ready();
      const used = api.token;
      try {
        liveState.textContent = "● live";
        liveState.dataset.state = "live";
        for await (const event of client.watch(id, { signal, lastEventId, maxReconnects: 3 })) {
          if (event.id !== null) lastEventId = event.id;
          onEvent(event);
        }
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof EdgepropError && error.status === 401) {
          await api.unauthorized(used);
          continue;
        }
        liveState.textContent = "reconnecting…";
        liveState.dataset.state = "reconnecting";
        await sleep(2_000, signal);
      }
      // The stream ended (the job finished) or dropped: the record says which.
      try {
        await refresh();
      } catch (error) {
        if (!signal.aborted) showBanner(`Cannot load the job: ${errorText(error)}`);
      }
    }
    if (!signal.aborted) {
      liveState.textContent = "ended";
      liveState.dataset.state = "ended";
    }
  }

  // --- rendering ----------------------------------------------------------------------------------
  let pending: ReturnType<typeof setTimeout> | null = null;
  function scheduleCharts(): void {
    pending ??= setTimeout(() => {
      pending = null;
      if (!signal.aborted) drawCharts();
    }, REDRAW_MS);
  }

  function drawCharts(): void {
    if (history.version === drawn) return;
    drawn = history.version;
    const steps = history.steps();
    const series = lossSeries(steps, smoothing);
    loss.setData([series.x, series.raw, series.smoothed], series.raw.filter((v) => v !== null).length);
    // The first and last values, for people reading the DOM and for the browser tests' formula check.
    lossChart.dataset.rawFirst = String(series.raw[0] ?? "");
    lossChart.dataset.smoothedFirst = String(series.smoothed[0] ?? "");
    lossChart.dataset.smoothedLast = String(series.smoothed.at(-1) ?? "");
    lr.setData([series.x, series.learningRate], series.learningRate.filter((v) => v !== null).length);

    const specRecord = (job?.spec ?? {}) as { earlyStopping?: { metric?: string } | null };
    const metric = specRecord.earlyStopping?.metric === "devLoss" ? "devLoss" : "devError";
    const epochs = epochSeries(history.epochs(), metric);
    bestX = epochs.best === null ? null : epochs.x[epochs.best];
    if (epochKind !== epochs.kind) {
      epochsPlot?.destroy();
      epochKind = epochs.kind;
      const kind = epochs.kind;
      epochsPlot = new Plot(epochChart, (width) => epochOptions(width, { kind, best: () => bestX }));
    }
    epochsPlot!.setData([epochs.x, epochs.train, epochs.dev], epochs.x.length);
    if (epochs.best === null) {
      earlyStop.textContent = "Early stopping would stop at the epoch with the lowest dev value (once there is a dev set and an epoch).";
    } else {
      const devValue = epochs.dev[epochs.best];
      const shown = epochs.kind === "error" && metric === "devError" ? format.percent(devValue) : format.number(devValue);
      earlyStop.textContent = `Lowest dev ${metric === "devLoss" || epochs.kind === "loss" ? "loss" : "error"} at epoch ${epochs.x[epochs.best]} (${shown}): where early stopping would stop (dashed line).`;
    }
  }

  function renderHeader(): void {
    if (!job) return;
    title.textContent = job.name || job.id;
    root.dataset.status = job.status;
    replaceChildren(status, statusBadge(job.status), " ", h("code", { class: "muted" }, job.id));
    const p = job.progress;
    progress.value = progressFraction(job);
    progressText.textContent = ` epoch ${Math.min(p.epoch + 1, p.epochs)}/${p.epochs} · step ${p.step}/${p.steps}${p.members > 1 ? ` · member ${p.member + 1}/${p.members}` : ""}`;
    const spread = distributionText(job.spec, p);
    distribution.textContent = ` · ${spread.mode}${spread.rounds ? ` · ${spread.rounds}` : ""}`;
    cancel.disabled = TERMINAL.has(job.status);
    download.disabled = job.status !== "succeeded";
    // A job has a checkpoint from its first epoch's end (or checkpointEvery steps) on; before that the API says 404.
    downloadCheckpoint.disabled = job.status === "queued" || (job.progress.epoch === 0 && job.progress.member === 0 && !checkpointed);
    downloadCsv.disabled = false;
    jobError.hidden = !job.error;
    jobError.textContent = job.error ? `The job failed: ${job.error}` : "";
  }

  function renderStats(): void {
    if (!job) return;
    renderVerdict(job);
    const m = job.metrics;
    replaceChildren(metrics, h("table", { class: "compact" },
      h("thead", {}, h("tr", {}, h("th", {}, ""), h("th", {}, "loss"), h("th", {}, "error"))),
      h("tbody", {},
        ...([["train", m.trainLoss, m.trainError], ["dev", m.devLoss, m.devError], ["test", m.testLoss, m.testError]] as const).map(([name, l, e]) =>
          h("tr", {}, h("th", {}, name), h("td", {}, format.number(l)), h("td", {}, format.percent(e)))))));
    const t = job.timing;
    const breakdown = t.breakdown;
    const total = breakdown ? BREAKDOWN.reduce((sum, k) => sum + breakdown[k], 0) : 0;
    const bar = h("div", { class: "breakdown-bar", "aria-hidden": "true" });
    if (breakdown && total > 0) {
      for (const k of BREAKDOWN) {
        const segment = h("span", { class: `seg seg-${k}`, title: `${k}: ${format.ms(breakdown[k])}` });
        segment.style.flexGrow = String(breakdown[k] / total);
        bar.append(segment);
      }
    }
    renderCommunication();
    replaceChildren(
      throughput,
      h("p", {}, h("strong", { id: "examples-per-second" }, job.throughput.examplesPerSecond === null ? "—" : `${format.number(job.throughput.examplesPerSecond, 3)} examples/s`),
        " · ", h("strong", {}, format.ms(t.stepMs)), " per step (medians over the last epoch)"),
      communicationLine,
      bar,
      h("table", { class: "compact" }, h("tbody", {},
        ...BREAKDOWN.map((k) => h("tr", {}, h("th", {}, h("span", { class: `swatch seg-${k}` }), ` ${k}`), h("td", {}, breakdown ? format.ms(breakdown[k]) : "—"))))),
    );
  }

  /** The training's traffic so far: updated with every progress event, not only with the epoch's stats. */
  function renderCommunication(): void {
    if (!job) return;
    const traffic = communicationText(job.communication);
    replaceChildren(communicationLine, "Coordinator ⇄ workers: ", h("strong", { id: "bytes-per-example" }, traffic.perExample),
      " · ", h("span", { id: "communication-totals" }, traffic.totals), " (training, cumulative)");
  }

  function renderVerdict(j: Job): void {
    const d = j.diagnosis;
    if (!d) {
      verdict.dataset.verdict = "";
      replaceChildren(verdict, h("p", { class: "muted" }, TERMINAL.has(j.status)
        ? "No verdict: it needs the final train and dev errors of a classification job that finished."
        : "The verdict appears when the job ends: it compares the final train error with human-level error (avoidable bias) and the dev error with the train error (variance)."));
      return;
    }
    verdict.dataset.verdict = d.verdict;
    const human = (j.spec as { humanError?: number }).humanError ?? 0;
    replaceChildren(
      verdict,
      h("p", { class: `verdict verdict-${d.verdict.replace(/\s+/g, "-")}` }, d.verdict),
      h("p", {}, `Avoidable bias ${format.percent(d.avoidableBias)} (train error − human-level ${format.percent(human)}); variance ${format.percent(d.variance)} (dev error − train error).`),
      h("ul", { class: "recommendations" }, ...d.recommendations.map((r) => h("li", {}, r))),
    );
  }

  function renderWorkers(): void {
    const mine = job ? workers.filter((w) => job!.workers.includes(w.url)) : workers;
    const list = mine.length ? mine : workers;
    if (list.length === 0) {
      replaceChildren(workerTable, h("p", { class: "muted" }, "No workers reported yet."));
      return;
    }
    replaceChildren(workerTable, h("table", { class: "compact" },
      h("thead", {}, h("tr", {}, ...["URL", "health", "runtime", "backend", "latency", "failures", "in flight", "hedged"].map((t) => h("th", {}, t)))),
      h("tbody", {}, ...list.map((w) => h("tr", { "data-healthy": String(w.healthy) },
        h("td", {}, h("code", {}, w.url)),
        h("td", {}, h("span", { class: w.healthy ? "health ok" : "health bad" }, w.healthy ? "healthy" : "unhealthy")),
        h("td", {}, w.runtime ?? "—"),
        h("td", {}, w.backend ?? "—"),
        h("td", {}, format.ms(w.latencyMs)),
        h("td", {}, String(w.failures)),
        h("td", {}, String(w.inFlight)),
        h("td", {}, String(w.hedged)))))));
  }

  function renderAll(): void {
    if (!job) return;
    renderHeader();
    renderStats();
    spec.textContent = JSON.stringify(job.spec, null, 2);
    drawCharts();
  }

  function showBanner(text: string): void {
    banner.textContent = text;
    banner.hidden = false;
  }

  // --- start --------------------------------------------------------------------------------------
  void (async () => {
    try {
      await refresh();
    } catch (error) {
      if (signal.aborted) return;
      showBanner(error instanceof EdgepropError && error.status === 404 ? `There is no job '${id}'.` : `Cannot load the job: ${errorText(error)}`);
      return;
    }
    void poll(async () => {
      workers = await api.call((c) => c.workers());
      renderWorkers();
    }, { everyMs: 3_000, signal });
    const loaded = job as Job | null; // set by refresh(), which TypeScript cannot see
    if (loaded && TERMINAL.has(loaded.status)) {
      liveState.textContent = "ended";
      liveState.dataset.state = "ended";
    } else {
      await follow();
    }
  })();
}
