/**
 * A model of a training epoch's wall time on N workers behind one coordinator link, sync steps
 * against local-step rounds, fed by constants that bench/scaling.ts measures (bench/README.md).
 *
 * One pass (a sync step or a local round) is simulated request by request: the coordinator works
 * serially (its part of the pass, then each request's encoding), its link carries the request
 * bodies one after another and the replies in the order they are ready, each request costs one
 * round-trip time, and a worker computes its requests one at a time with at most
 * `CONCURRENCY` in flight (HttpPool's default), so K replicas on N < K workers queue. Workers are
 * assumed to have their own cores (not so on the 2-core VM of the measured runs: the check feeds
 * the model each run's own compute figure as well as the one-worker figure, and says which).
 *
 * Run: node --import tsx bench/scaling-model.ts [constants.json] [--write]
 * (constants.json: what `bench/scaling.ts --constants FILE` wrote; default bench/scaling-constants.json).
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { writeSection } from "./results.ts";

/** What one pass costs besides the network, in ms and bytes; measured per mode (bench/scaling.ts). */
export interface PassConstants {
  /** Coordinator ms per pass outside the pool besides reducing: gathering batches, planning, the optimizer. */
  readonly coordinatorMsPerPass: number;
  /** Coordinator ms per request reducing its reply: as it comes in (sync) or once all are in (local: the replica averages). */
  readonly reduceMsPerRequest: number;
  /** Coordinator ms per request: encoding (and hashing) its body. */
  readonly encodeMsPerRequest: number;
  /** Coordinator ms per request: decoding its reply. */
  readonly decodeMsPerRequest: number;
  /** Worker ms per request besides compute and transfer: verifying, decoding the request, encoding the reply. */
  readonly workerMsPerRequest: number;
  /** Worker compute ms per example (per example of an inner step in local mode). */
  readonly computeMsPerExample: number;
  /** Request body bytes: the part every request carries (parameters, state) and the part per example. */
  readonly requestBytes: number;
  readonly requestBytesPerExample: number;
  readonly replyBytes: number;
}

export interface Link {
  readonly bitsPerSecond: number;
  readonly rttMs: number;
}

/** A job's epoch: `examples` per epoch in steps of `batchSize`; sync cuts a step into at most `maxShards` shards. */
export type EpochShape =
  | { readonly mode: "sync"; readonly examples: number; readonly batchSize: number; readonly maxShards: number }
  | { readonly mode: "local"; readonly examples: number; readonly batchSize: number; readonly replicas: number; readonly innerSteps: number };

/** Requests in flight per worker (HttpPool's default). */
export const CONCURRENCY = 2;

/** Milliseconds to move `bytes` over `link` (bandwidth only; the round trip is counted per request). */
export function transferMs(bytes: number, link: Link): number {
  return Number.isFinite(link.bitsPerSecond) ? (bytes * 8 * 1000) / link.bitsPerSecond : 0;
}

/** One pass's requests: each carries `examples` examples and goes to worker `index mod workers`. */
export interface PassRequests {
  readonly examples: readonly number[];
  /** Replies reduced once all are in (local rounds' averages) rather than as each comes in (sync). */
  readonly reduceAfterLast?: boolean;
}

/** Wall ms of one pass of `requests` on `workers` workers over `link`. */
export function passMs(c: PassConstants, requests: PassRequests, workers: number, link: Link): number {
  const n = requests.examples.length;
  let coordinator = c.coordinatorMsPerPass;
  let uplink = coordinator;
  const slots = Array.from({ length: workers }, () => Array<number>(CONCURRENCY).fill(0));
  const workerFree = Array<number>(workers).fill(0);
  const ready: number[] = [];
  for (let i = 0; i < n; i++) {
    const w = i % workers;
    const slot = slots[w].indexOf(Math.min(...slots[w]));
    coordinator = Math.max(coordinator, slots[w][slot]) + c.encodeMsPerRequest;
    uplink = Math.max(uplink, coordinator) + transferMs(c.requestBytes + c.requestBytesPerExample * requests.examples[i], link);
    const start = Math.max(uplink + link.rttMs / 2, workerFree[w]);
    workerFree[w] = start + c.workerMsPerRequest + c.computeMsPerExample * requests.examples[i];
    ready.push(workerFree[w]);
    // The slot frees once the reply is in (its download is not queued behind others here).
    slots[w][slot] = workerFree[w] + link.rttMs / 2 + transferMs(c.replyBytes, link);
  }
  // Replies come down the link in the order they are ready, and are decoded one after another.
  let downlink = 0, decoded = 0;
  for (const t of [...ready].sort((a, b) => a - b)) {
    downlink = Math.max(downlink, t + link.rttMs / 2) + transferMs(c.replyBytes, link);
    decoded = Math.max(decoded, downlink) + c.decodeMsPerRequest + (requests.reduceAfterLast ? 0 : c.reduceMsPerRequest);
  }
  return Math.max(decoded, coordinator) + (requests.reduceAfterLast ? n * c.reduceMsPerRequest : 0);
}

/** The passes of one epoch, each as its requests' example counts. */
export function epochPasses(shape: EpochShape, workers: number): PassRequests[] {
  const { examples: m, batchSize: b } = shape;
  const passes: PassRequests[] = [];
  if (shape.mode === "sync") {
    for (let first = 0; first < m; first += b) {
      const rows = Math.min(b, m - first);
      const shards = Math.min(workers, shape.maxShards, rows);
      passes.push({ examples: Array.from({ length: shards }, (_, s) => Math.floor(((s + 1) * rows) / shards) - Math.floor((s * rows) / shards)) });
    }
    return passes;
  }
  const { replicas: k, innerSteps: h } = shape;
  // As local-rounds.ts: sync's batches, less a last one of fewer than K rows; rounds within the epoch.
  const steps = Array.from({ length: Math.floor(m / b) }, () => b);
  if (m % b >= k) steps.push(m % b);
  for (let first = 0; first < steps.length; first += h) {
    const rows = steps.slice(first, first + h).reduce((a, x) => a + x, 0);
    passes.push({ examples: Array.from({ length: k }, (_, r) => Math.floor(((r + 1) * rows) / k) - Math.floor((r * rows) / k)), reduceAfterLast: true });
  }
  return passes;
}

/** Wall ms of one epoch. */
export function epochMs(c: PassConstants, shape: EpochShape, workers: number, link: Link): number {
  return epochPasses(shape, workers).reduce((sum, pass) => sum + passMs(c, pass, workers, link), 0);
}

/** Relative error of a prediction. */
export function relativeError(predicted: number, measured: number): number {
  return (predicted - measured) / measured;
}

// ---- CLI: the table of RESULTS.md from the constants a scaling run measured ----

/** What bench/scaling.ts writes: each mode's constants, and the measured runs to check against. */
export interface MeasuredConstants {
  readonly date: string;
  readonly sync: PassConstants;
  readonly local: PassConstants;
  /** The measured runs' link: loopback, its bandwidth fitted to the one-worker sync requests' transfer time (no queueing there). */
  readonly loopback: Link;
  readonly job: { readonly batchSize: number; readonly maxShards: number; readonly replicas: number; readonly innerSteps: number; readonly examples: number };
  readonly runs: readonly {
    readonly name: string;
    readonly mode: "sync" | "local";
    readonly workers: number;
    readonly epochMs: number;
    /** The run's own compute ms per example (on the 2-core VM, 2 workers slow each other down). */
    readonly computeMsPerExample: number;
  }[];
}

export const LINKS: readonly (Link & { readonly name: string })[] = [10e9, 1e9, 100e6].flatMap((bitsPerSecond) =>
  [1, 10, 50].map((rttMs) => ({ name: `${bitsPerSecond >= 1e9 ? `${bitsPerSecond / 1e9} Gbit/s` : `${bitsPerSecond / 1e6} Mbit/s`}, ${rttMs} ms`, bitsPerSecond, rttMs }))
);
export const WORKERS = [1, 2, 4, 8, 16, 32, 64] as const;
/** Examples of one worker's share of a step in the table (the measured K = 4 job's replica batch). */
export const PER_WORKER_BATCH = 64;
export const TABLE_EXAMPLES = 60_000;

/** The check against the measured runs, as table lines. */
export function checkLines(m: MeasuredConstants): { lines: string[]; worst: number } {
  const lines = [
    "| run | measured s/epoch | predicted (1-worker compute) | error | predicted (the run's compute) | error |",
    "|---|---:|---:|---:|---:|---:|",
  ];
  let worst = 0;
  for (const run of m.runs) {
    const c = m[run.mode];
    const shape: EpochShape = run.mode === "sync"
      ? { mode: "sync", examples: m.job.examples, batchSize: m.job.batchSize, maxShards: m.job.maxShards }
      : { mode: "local", examples: m.job.examples, batchSize: m.job.batchSize, replicas: m.job.replicas, innerSteps: m.job.innerSteps };
    const a = epochMs(c, shape, run.workers, m.loopback);
    const b = epochMs({ ...c, computeMsPerExample: run.computeMsPerExample }, shape, run.workers, m.loopback);
    const ea = relativeError(a, run.epochMs), eb = relativeError(b, run.epochMs);
    worst = Math.max(worst, Math.abs(eb));
    const pct = (e: number) => `${e >= 0 ? "+" : ""}${(100 * e).toFixed(1)}%`;
    lines.push(`| ${run.name} | ${(run.epochMs / 1000).toFixed(2)} | ${(a / 1000).toFixed(2)} | ${pct(ea)} | ${(b / 1000).toFixed(2)} | ${pct(eb)} |`);
  }
  return { lines, worst };
}

/** The prediction table: seconds per epoch of TABLE_EXAMPLES examples, each worker computing PER_WORKER_BATCH examples per step. */
export function tableLines(m: MeasuredConstants, innerSteps: readonly number[]): string[] {
  const lines = [
    `| link (bandwidth, RTT) | mode | ${WORKERS.map((n) => `N = ${n}`).join(" | ")} |`,
    `|---|---|${WORKERS.map(() => "---:").join("|")}|`,
  ];
  for (const link of LINKS) {
    const row = (label: string, at: (n: number) => number) => lines.push(`| ${link.name} | ${label} | ${WORKERS.map((n) => (at(n) / 1000).toFixed(2)).join(" | ")} |`);
    row("sync", (n) => epochMs(m.sync, { mode: "sync", examples: TABLE_EXAMPLES, batchSize: PER_WORKER_BATCH * n, maxShards: n }, n, link));
    for (const h of innerSteps) {
      row(`local H = ${h}`, (n) => epochMs(m.local, { mode: "local", examples: TABLE_EXAMPLES, batchSize: PER_WORKER_BATCH * n, replicas: n, innerSteps: h }, n, link));
    }
  }
  return lines;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const file = args.find((a) => !a.startsWith("--")) ?? fileURLToPath(new URL("./scaling-constants.json", import.meta.url));
  const m = JSON.parse(readFileSync(file, "utf8")) as MeasuredConstants;
  const check = checkLines(m);
  const lines = [
    `Constants measured by bench/scaling.ts on ${m.date} (bench/scaling-constants.json), per mode:`,
    "",
    "| constant | sync | local |",
    "|---|---:|---:|",
    ...(Object.keys(m.sync) as (keyof PassConstants)[]).map((k) => `| ${k} | ${m.sync[k].toFixed(k.includes("Bytes") ? 0 : 4)} | ${m.local[k].toFixed(k.includes("Bytes") ? 0 : 4)} |`),
    "",
    `Check against the measured runs of bench/scaling.ts, over loopback as measured (${(m.loopback.bitsPerSecond / 1e9).toFixed(2)} Gbit/s effective, HTTP included; no RTT term):`,
    "",
    ...check.lines,
    "",
    `Worst error with each run's own compute: ${(100 * check.worst).toFixed(1)}% (aim ≤ 25%).`,
    "",
    `Predicted seconds per epoch of ${TABLE_EXAMPLES.toLocaleString("en")} examples; every worker computes ${PER_WORKER_BATCH} examples per step in both modes ` +
      `(sync: batch ${PER_WORKER_BATCH}·N in N shards; local: K = N replicas of ${PER_WORKER_BATCH}), so the rows differ only in what crosses the link. ` +
      "Local rows keep the measured job's inner state (bytes per request) and compute per example.",
    "",
    ...tableLines(m, [m.job.innerSteps, 64]),
  ];
  console.log(lines.join("\n"));
  if (args.includes("--write")) writeSection("scaling-model", lines);
}
