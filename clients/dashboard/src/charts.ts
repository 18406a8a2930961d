/**
 * The page's charts, on uPlot (small, canvas, fast with thousands of steps). A `Plot` owns one
 * uPlot instance in a container, follows the container's width, and records how many points it
 * plots in `data-points` and its y scale ("log" or "linear", read from the chart) in `data-y-scale`
 * on the container (what the browser tests read, and a hint for people).
 */
import uPlot from "uplot";
import type { OverlayCurve } from "./compare-model.ts";
import * as format from "./format.ts";
import type { DimensionPlot } from "./study-model.ts";

export const COLORS = {
  raw: "rgba(90, 120, 170, 0.45)",
  smooth: "#1f4fbf",
  train: "#1f4fbf",
  dev: "#d9480f",
  lr: "#2b8a3e",
  point: "#5c6f91",
  best: "#e03131",
  marker: "rgba(224, 49, 49, 0.8)",
} as const;

const HEIGHT = 240;

export class Plot {
  readonly #container: HTMLElement;
  readonly #options: (width: number) => uPlot.Options;
  readonly #resize: ResizeObserver;
  #plot: uPlot | null = null;
  #data: uPlot.AlignedData | null = null;

  /** `options(width)` builds the uPlot options (called again by `reset`). */
  constructor(container: HTMLElement, options: (width: number) => uPlot.Options) {
    this.#container = container;
    this.#options = options;
    this.#resize = new ResizeObserver(() => {
      const width = this.#width();
      if (this.#plot && Math.abs(this.#plot.width - width) > 1) this.#plot.setSize({ width, height: HEIGHT });
    });
    this.#resize.observe(container);
  }

  /** Plots `data` (x first); `points` is the number of plotted data points reported in `data-points`. */
  setData(data: uPlot.AlignedData, points: number): void {
    this.#data = data;
    if (this.#plot) this.#plot.setData(data);
    else this.#create(data);
    this.#container.dataset.points = String(points);
  }

  /** Recreates the chart from its options (after a change that uPlot cannot apply in place). */
  reset(): void {
    this.#plot?.destroy();
    this.#plot = null;
    if (this.#data) this.#create(this.#data);
  }

  /** Redraws without new data (e.g. after a marker moved). */
  redraw(): void {
    this.#plot?.redraw(false);
  }

  destroy(): void {
    this.#resize.disconnect();
    this.#plot?.destroy();
    this.#plot = null;
  }

  #create(data: uPlot.AlignedData): void {
    this.#plot = new uPlot(this.#options(this.#width()), data, this.#container);
    this.#container.dataset.yScale = this.#plot.scales.y?.distr === 3 ? "log" : "linear";
  }

  #width(): number {
    return Math.max(280, Math.floor(this.#container.clientWidth || 600));
  }
}

const axis = (label: string, values?: uPlot.Axis["values"]): uPlot.Axis => ({ label, stroke: "#495057", grid: { stroke: "#e9ecef", width: 1 }, ticks: { stroke: "#dee2e6", width: 1 }, ...(values ? { values } : {}) });

/** Tick labels; uPlot passes null for ticks it leaves unlabelled (minor ticks of a log axis). */
const numbers: uPlot.Axis["values"] = (_u, splits) => splits.map((v) => (v === null ? "" : format.number(v, 3)));
const percents: uPlot.Axis["values"] = (_u, splits) => splits.map((v) => `${Number((v * 100).toPrecision(3))}%`);

/** Training loss per step: raw (light) and the exponentially weighted average (bold). */
export function lossOptions(width: number, smoothingLabel: string): uPlot.Options {
  return {
    width,
    height: HEIGHT,
    scales: { x: { time: false } },
    axes: [axis("step"), axis("loss", numbers)],
    series: [
      { label: "step" },
      { label: "raw loss", stroke: COLORS.raw, width: 1, points: { show: false }, value: (_u, v) => format.number(v) },
      { label: smoothingLabel, stroke: COLORS.smooth, width: 2, points: { show: false }, value: (_u, v) => format.number(v) },
    ],
    legend: { live: true },
  };
}

/** Learning rate per step. */
export function learningRateOptions(width: number): uPlot.Options {
  return {
    width,
    height: HEIGHT,
    scales: { x: { time: false } },
    axes: [axis("step"), axis("learning rate", numbers)],
    series: [{ label: "step" }, { label: "learning rate", stroke: COLORS.lr, width: 2, points: { show: false }, value: (_u, v) => format.number(v) }],
  };
}

/**
 * Train and dev error (or loss) per epoch on one chart, with a dashed line at the epoch of the best
 * dev value, where early stopping would stop. `best()` is read at every draw.
 */
export function epochOptions(width: number, options: { readonly kind: "error" | "loss"; readonly best: () => number | null }): uPlot.Options {
  const { kind, best } = options;
  const fmt = kind === "error" ? (_u: uPlot, v: number | null) => format.percent(v) : (_u: uPlot, v: number | null) => format.number(v);
  return {
    width,
    height: HEIGHT,
    scales: { x: { time: false } },
    axes: [axis("epoch", (_u, splits) => splits.map((v) => (Number.isInteger(v) ? String(v) : ""))), axis(kind, kind === "error" ? percents : numbers)],
    series: [
      { label: "epoch" },
      { label: `train ${kind}`, stroke: COLORS.train, width: 2, points: { show: true, size: 6 }, value: fmt },
      { label: `dev ${kind}`, stroke: COLORS.dev, width: 2, points: { show: true, size: 6 }, value: fmt },
    ],
    hooks: {
      draw: [
        (u) => {
          const x = best();
          if (x === null) return;
          const px = u.valToPos(x, "x", true);
          const ctx = u.ctx;
          ctx.save();
          ctx.strokeStyle = COLORS.marker;
          ctx.setLineDash([6, 4]);
          ctx.lineWidth = 1.5 * devicePixelRatio;
          ctx.beginPath();
          ctx.moveTo(px, u.bbox.top);
          ctx.lineTo(px, u.bbox.top + u.bbox.height);
          ctx.stroke();
          ctx.restore();
        },
      ],
    },
  };
}

/** Colors of the jobs a chart overlays, in the order they were picked. */
export const JOB_COLORS = ["#1f4fbf", "#d9480f", "#2b8a3e", "#ae3ec9", "#0c8599", "#e67700", "#c2255c", "#5f3dc4"] as const;

/**
 * Several jobs' curves per epoch on one chart: a color per job (`colorOf`), dev curves dashed
 * when a job has two (train and dev loss). `kind` "loss" may be on a log axis; "error" is in percent.
 */
export function overlayOptions(width: number, options: { readonly kind: "loss" | "error"; readonly log: boolean; readonly curves: readonly OverlayCurve[]; readonly colorOf: (jobId: string) => string }): uPlot.Options {
  const { kind, log, curves, colorOf } = options;
  const fmt = kind === "error" ? (_u: uPlot, v: number | null) => format.percent(v) : (_u: uPlot, v: number | null) => format.number(v);
  return {
    width,
    height: HEIGHT,
    scales: { x: { time: false }, y: log ? { distr: 3, log: 10 } : {} },
    axes: [axis("epoch", (_u, splits) => splits.map((v) => (Number.isInteger(v) ? String(v) : ""))), axis(kind === "error" ? "dev error" : log ? "loss (log)" : "loss", kind === "error" ? percents : numbers)],
    series: [
      { label: "epoch" },
      ...curves.map((c): uPlot.Series => ({
        label: c.label,
        stroke: colorOf(c.jobId),
        width: 2,
        ...(c.metric === "devLoss" ? { dash: [6, 4] } : {}),
        points: { show: true, size: 5 },
        value: fmt,
      })),
    ],
  };
}

/**
 * A hyperparameter against the study's metric: one point per trial, the best trial in red and
 * larger. The x axis follows the dimension's scale: uPlot's log distribution for log dimensions,
 * t = −log10(1 − x) labelled back in x for oneMinusLog, indices labelled by value for choices.
 */
export function scatterOptions(width: number, options: { readonly plot: DimensionPlot; readonly metric: string }): uPlot.Options {
  const { plot, metric } = options;
  const metricIsError = /error/i.test(metric);
  // Room around the extreme points, so that they are not cut in half by the plot's edge.
  const padded: uPlot.Scale.Range = (_u, min, max) => {
    const pad = max > min ? (max - min) * 0.06 : Math.abs(min) * 0.1 || 1;
    return [min - pad, max + pad];
  };
  let xScale: uPlot.Scale = { time: false, range: padded };
  let xValues: uPlot.Axis["values"] = numbers;
  let splits: uPlot.Axis["splits"] | undefined;
  if (plot.scale === "log") xScale = { time: false, distr: 3, log: 10 };
  if (plot.scale === "oneMinusLog") {
    // Ticks where 1 − x is 1, 0.5 or 0.2 times a power of ten: x = 0.9, 0.95, 0.98, 0.99, 0.995, ...
    splits = (_u, _axis, min, max) => {
      const ticks: number[] = [];
      for (let k = 0; k <= 9; k++) for (const c of [1, 0.5, 0.2]) ticks.push(k - Math.log10(c));
      const inside = ticks.filter((t) => t >= min - 1e-9 && t <= max + 1e-9);
      return inside.length > 8 ? inside.filter((t) => Number.isInteger(Math.round(t * 1e9) / 1e9)) : inside;
    };
    xValues = (_u, s) => s.map((t) => (t === null ? "" : String(Number((1 - 10 ** -t).toPrecision(6)))));
  }
  if (plot.scale === "category") {
    const n = plot.categories.length;
    xScale = { time: false, range: () => [-0.5, Math.max(0.5, n - 0.5)] };
    splits = () => plot.categories.map((_, i) => i);
    xValues = (_u, s) => s.map((i) => plot.categories[i] ?? "");
  }
  const scatter = (): null => null;
  return {
    width,
    height: 220,
    scales: { x: xScale },
    axes: [
      { ...axis(`${plot.path}${plot.scale === "log" ? " (log)" : plot.scale === "oneMinusLog" ? " (log 1−x)" : ""}`, xValues), ...(splits ? { splits } : {}) },
      axis(metric, metricIsError ? percents : numbers),
    ],
    cursor: { drag: { x: false, y: false } },
    series: [
      { label: plot.path, value: (_u, v) => (v === null ? "—" : plot.scale === "category" ? (plot.categories[v] ?? "") : plot.scale === "oneMinusLog" ? format.number(1 - 10 ** -v) : format.number(v)) },
      { label: "trials", stroke: COLORS.point, fill: COLORS.point, paths: scatter, points: { show: true, size: 8, fill: COLORS.point, stroke: COLORS.point } },
      { label: "best", stroke: COLORS.best, fill: COLORS.best, paths: scatter, points: { show: true, size: 13, fill: COLORS.best, stroke: COLORS.best } },
    ],
  };
}
