/**
 * The study page's data: `GET /v1/studies/:id` (DESIGN.md: `{id, status, trials: [{id, jobId,
 * values, status, epochs, metric}], best: {trialId, values, metric, spec}}`) turned into one scatter
 * plot per hyperparameter and a table order. Pure functions, so tests run them in Node.
 *
 * The axis scale of a hyperparameter comes from its search-space dimension: log for `logUniform`
 * (and `int` with `log`), −log10(1 − x) for `oneMinusLog`, categories for `choice`, linear
 * otherwise. The study answer may carry the dimensions (`dimensions`, `parameters` or
 * `hyperparameters`, as a list or a record, each with a `scale` or a dimension `type`) or the
 * space (`space`, or `spec.space`); without either, numbers get a linear axis and anything else
 * categories.
 */

export interface Trial {
  readonly id: string;
  readonly jobId: string | null;
  readonly values: Readonly<Record<string, unknown>>;
  readonly status: string;
  readonly epochs: number | null;
  readonly metric: number | null;
}

export interface Study {
  readonly id: string;
  readonly name?: string;
  readonly status: string;
  /** The metric trials are ranked by ("devError", ...), when the answer says. */
  readonly metric?: string;
  readonly trials: readonly Trial[];
  readonly best: { readonly trialId: string; readonly values: Readonly<Record<string, unknown>>; readonly metric: number | null; readonly spec?: unknown } | null;
  readonly [key: string]: unknown;
}

export type AxisScale = "linear" | "log" | "oneMinusLog" | "category";

export interface DimensionPoint {
  readonly trialId: string;
  /** Position on the x axis: the value, or its index among `categories`. */
  readonly x: number;
  readonly metric: number;
  readonly best: boolean;
}

export interface DimensionPlot {
  /** Path into the job spec, e.g. "optimizer.learningRate". */
  readonly path: string;
  readonly scale: AxisScale;
  /** Labels of a categorical axis, in order. */
  readonly categories: readonly string[];
  /** Trials with a finite metric, sorted by x. */
  readonly points: readonly DimensionPoint[];
}

/** The metric trials are ranked by: the answer's `metric`, else its spec's, else "metric". */
export function studyMetric(study: Study): string {
  if (typeof study.metric === "string") return study.metric;
  const spec = study.spec as { metric?: unknown } | undefined;
  return typeof spec?.metric === "string" ? spec.metric : "metric";
}

/** Study statuses after which nothing changes. */
export function isFinished(status: string): boolean {
  return !["queued", "pending", "running", "created", "starting"].includes(status);
}

/** Maps a dimension description (`scale` or space `type`, plus `log` for int) to an axis scale. */
export function scaleOfDimension(dimension: unknown): AxisScale | null {
  if (typeof dimension === "string") return scaleName(dimension, false);
  if (typeof dimension !== "object" || dimension === null) return null;
  const d = dimension as Record<string, unknown>;
  if (typeof d.scale === "string") return scaleName(d.scale, d.log === true);
  if (typeof d.type === "string") return scaleName(d.type, d.log === true);
  return null;
}

function scaleName(name: string, log: boolean): AxisScale | null {
  switch (name) {
    case "log":
    case "log10":
    case "logarithmic":
    case "logUniform":
      return "log";
    case "oneMinusLog":
      return "oneMinusLog";
    case "choice":
    case "category":
    case "categorical":
      return "category";
    case "int":
      return log ? "log" : "linear";
    case "linear":
    case "uniform":
      return "linear";
    default:
      return null;
  }
}

/** The declared dimensions of a study answer, path → description, from whichever field it has. */
function declaredDimensions(study: Study): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const spec = study.spec as Record<string, unknown> | undefined;
  const sources = [study.dimensions, study.parameters, study.hyperparameters, study.space, spec?.space, study.spaces];
  for (const source of sources) {
    if (Array.isArray(source)) {
      for (const d of source) {
        if (typeof d !== "object" || d === null) continue;
        const r = d as Record<string, unknown>;
        const path = r.path ?? r.name ?? r.key;
        if (typeof path === "string") {
          if (!out.has(path)) out.set(path, r.dimension ?? r);
        } else {
          // A list of spaces (one per coarse-to-fine round): path → dimension records.
          for (const [p, dim] of Object.entries(r)) if (!out.has(p)) out.set(p, dim);
        }
      }
    } else if (typeof source === "object" && source !== null) {
      for (const [path, d] of Object.entries(source)) if (!out.has(path)) out.set(path, d);
    }
  }
  return out;
}

/**
 * One plot per hyperparameter: every trial with a finite metric at (value, metric), sorted by x,
 * the best trial marked. A log axis needs positive values: a dimension declared log whose values
 * include one ≤ 0 falls back to linear.
 */
export function studyDimensions(study: Study): DimensionPlot[] {
  const declared = declaredDimensions(study);
  const paths = [...declared.keys()];
  for (const t of study.trials) for (const p of Object.keys(t.values ?? {})) if (!paths.includes(p)) paths.push(p);
  const bestId = study.best?.trialId ?? null;
  return paths.map((path) => {
    const trials = study.trials.filter((t) => t.values && path in t.values && typeof t.metric === "number" && Number.isFinite(t.metric));
    const values = trials.map((t) => t.values[path]);
    const numeric = values.every((v) => typeof v === "number" && Number.isFinite(v));
    let scale = scaleOfDimension(declared.get(path)) ?? (numeric ? "linear" : "category");
    if (!numeric && scale !== "category") scale = "category";
    if (scale === "log" && values.some((v) => (v as number) <= 0)) scale = "linear";
    if (scale === "oneMinusLog" && values.some((v) => (v as number) >= 1)) scale = "linear";
    let categories: string[] = [];
    if (scale === "category") {
      const choices = (declared.get(path) as { values?: unknown } | undefined)?.values;
      const labels = (Array.isArray(choices) ? choices : values).map((v) => JSON.stringify(v));
      categories = [...new Set([...labels, ...values.map((v) => JSON.stringify(v))])];
    }
    const points = trials.map((t) => {
      const v = t.values[path];
      const x = scale === "category" ? categories.indexOf(JSON.stringify(v)) : scale === "oneMinusLog" ? -Math.log10(1 - (v as number)) : (v as number);
      return { trialId: t.id, x, metric: t.metric as number, best: t.id === bestId };
    }).sort((a, b) => a.x - b.x);
    return { path, scale, categories: categories.map((c) => c.replace(/^"(.*)"$/, "$1")), points };
  });
}

/** Trials by metric (ascending or descending), trials without a metric last, ties by id. */
export function sortTrials(trials: readonly Trial[], direction: "asc" | "desc"): Trial[] {
  const sign = direction === "asc" ? 1 : -1;
  return [...trials].sort((a, b) => {
    const am = typeof a.metric === "number" && Number.isFinite(a.metric), bm = typeof b.metric === "number" && Number.isFinite(b.metric);
    if (am !== bm) return am ? -1 : 1;
    if (am && bm && a.metric !== b.metric) return sign * ((a.metric as number) - (b.metric as number));
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  });
}
