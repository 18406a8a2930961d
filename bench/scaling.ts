/**
 * Benchmark: measured scaling. Examples per second and time to a target dev error of the
 * reference MLP on builtin MNIST, side by side in one process: in process, sync steps on 1 and 2
 * Deno workers, and local-step rounds (K = 4 replicas, H inner steps, with `innerState` reset and
 * keep) in process and on 1 and 2 workers; with the bytes per example each moves and the breakdown
 * of its passes. The variants run interleaved, several rounds, and the medians are compared.
 *
 * It also measures the constants of the scaling model (bench/scaling-model.ts) from the one- and
 * two-worker runs (local mode: the reset runs), through a pool wrapper that times each training pass and keeps its requests'
 * timings and traffic, and writes them to bench/scaling-constants.json for the model's CLI.
 *
 * Run: node --expose-gc --import tsx bench/scaling.ts [--rounds N] [--inner-steps H] [--write]
 */
import { writeFileSync } from "node:fs";
import os from "node:os";
import { loadMnist } from "../core/data/mod.ts";
import type { EpochMetrics } from "../core/job/api.ts";
import { parseJobSpec } from "../core/job/spec.ts";
import { planModel } from "../core/model/spec.ts";
import { useBackend } from "../core/tf.ts";
import { HttpPool } from "../coordinator/pool/http-pool.ts";
import { InProcessPool } from "../coordinator/pool/in-process-pool.ts";
import type { PassResult, ShardOutcome, WorkerPool } from "../coordinator/pool/worker-pool.ts";
import { prepareData } from "../coordinator/training/prepared-data.ts";
import { train } from "../coordinator/training/trainer.ts";
import { startWorker } from "../tests/helpers/worker-process.ts";
import { collectYoungGarbage, median, REFERENCE_MLP } from "./reference.ts";
import { writeSection } from "./results.ts";
import { checkLines, type Link, type MeasuredConstants, type PassConstants } from "./scaling-model.ts";

const args = process.argv.slice(2);
const ROUNDS = args.includes("--rounds") ? Number(args[args.indexOf("--rounds") + 1]) : 3;
const SECRET = "bench-secret-0123456789abcdef";
const EPOCHS = 5;
/** Dev error to reach: both modes get there in 3–4 epochs of the 6,000 training digits. */
const TARGET = 0.1;
const REPLICAS = 4, BATCH = 256, CHUNK = 32;
const INNER_STEPS = args.includes("--inner-steps") ? Number(args[args.indexOf("--inner-steps") + 1]) : 8;
/** Both choices: `reset` sends no inner state either way, `keep` sends Adam's moments both ways. */
const INNER_STATES = ["reset", "keep"] as const;
type InnerState = (typeof INNER_STATES)[number];

type Mode = "sync" | "local";
const job = (mode: Mode, innerState: InnerState) => parseJobSpec({
  name: "scaling",
  dataset: { id: "builtin:mnist" },
  model: REFERENCE_MLP,
  optimizer: { type: "adam", learningRate: 1e-3 },
  batchSize: BATCH,
  chunkSize: CHUNK,
  epochs: EPOCHS,
  deterministic: true,
  ...(mode === "local" ? { distribution: { mode: "local", replicas: REPLICAS, innerSteps: INNER_STEPS, innerState } } : {}),
});

/** One training pass as the wrapper saw it. */
interface Pass {
  readonly ms: number;
  readonly examples: number;
  /** Bytes of the example fields (inputs, labels, indices, steps) the pass's requests carried. */
  readonly exampleBytes: number;
  readonly outcomes: readonly ShardOutcome<unknown>[];
  readonly traffic: PassResult<unknown>["traffic"];
}

/** `pool` with every training pass timed and kept (evaluation passes go through untouched). */
function recording(pool: WorkerPool, passes: Pass[]): WorkerPool {
  const record = <T>(shards: readonly Record<string, unknown>[], run: () => Promise<PassResult<T>>) => async () => {
    const t0 = performance.now();
    const result = await run();
    const ms = performance.now() - t0;
    let examples = 0, exampleBytes = 0;
    for (const shard of shards) {
      examples += (shard.indices as { shape: number[] }).shape[0];
      for (const field of ["inputs", "labels", "indices", "stepExamples"]) exampleBytes += (shard[field] as { data: ArrayBufferView } | undefined)?.data.byteLength ?? 0;
    }
    passes.push({ ms, examples, exampleBytes, outcomes: result.outcomes, traffic: result.traffic });
    return result;
  };
  return {
    capacity: () => pool.capacity(),
    status: () => pool.status(),
    runStep: (task, options) => record(task.shards as unknown as Record<string, unknown>[], () => pool.runStep(task, options))(),
    runRound: (task, options) => record(task.shards as unknown as Record<string, unknown>[], () => pool.runRound(task, options))(),
    runEvaluation: (task, options) => pool.runEvaluation(task, options),
    forJob: (policy) => recording(pool.forJob(policy), passes),
  };
}

/** One job's run: its epochs, the passes of each, and its traffic. */
interface Run {
  readonly epochs: readonly { readonly entry: EpochMetrics; readonly trainMs: number; readonly passes: readonly Pass[] }[];
}

async function run(pool: WorkerPool, mode: Mode, innerState: InnerState, epochs = EPOCHS): Promise<Run> {
  const spec = { ...job(mode, innerState), epochs };
  const plan = planModel(spec.model);
  const data = prepareData(dataset, spec, plan);
  const passes: Pass[] = [];
  const out: { entry: EpochMetrics; trainMs: number; passes: Pass[] }[] = [];
  collectYoungGarbage();
  await train({
    spec, plan, data, pool: recording(pool, passes), signal: new AbortController().signal, checkpoint: async () => {},
    emit: (e) => {
      if (e.type !== "epoch") return;
      const mine = passes.splice(0);
      const examples = mine.reduce((a, p) => a + p.examples, 0);
      out.push({ entry: e.entry, trainMs: (1000 * examples) / e.entry.examplesPerSecond, passes: mine });
    },
  });
  return { epochs: out };
}

/** The model's constants from one run's passes (bench/scaling-model.ts, PassConstants). */
function constantsOf(r: Run, mode: Mode): PassConstants {
  const passes = r.epochs.flatMap((e) => e.passes);
  const trainMs = r.epochs.reduce((a, e) => a + e.trainMs, 0);
  const outcomes = passes.flatMap((p) => p.outcomes).filter((o) => o.ok && o.timing?.worker);
  const mean = (f: (t: NonNullable<(ShardOutcome<unknown> & { ok: true })["timing"]>) => number) =>
    outcomes.reduce((a, o) => a + f((o as ShardOutcome<unknown> & { ok: true }).timing!), 0) / outcomes.length;
  const sum = (f: (p: Pass) => number) => passes.reduce((a, p) => a + f(p), 0);
  const requests = sum((p) => p.traffic.requests), examples = sum((p) => p.examples);
  const perExample = sum((p) => p.exampleBytes) / examples;
  // The reported breakdown's reduce is per inner step in local mode: a round is H of them.
  const reducePerPass = median(r.epochs.map((e) => e.entry.breakdown.reduce)) * (mode === "local" ? INNER_STEPS : 1);
  const requestsPerPass = passes.reduce((a, p) => a + p.outcomes.length, 0) / passes.length;
  return {
    coordinatorMsPerPass: (trainMs - sum((p) => p.ms)) / passes.length - reducePerPass,
    reduceMsPerRequest: reducePerPass / requestsPerPass,
    encodeMsPerRequest: mean((t) => t.encode),
    decodeMsPerRequest: mean((t) => t.decode - t.worker!.decodeMs),
    workerMsPerRequest: mean((t) => t.worker!.verifyMs + t.worker!.decodeMs + t.worker!.encodeMs),
    computeMsPerExample: sum((p) => p.outcomes.reduce((a, o) => a + (o.ok ? o.timing?.compute ?? 0 : 0), 0)) / examples,
    requestBytes: (sum((p) => p.traffic.bytesSent) - perExample * examples) / requests,
    requestBytesPerExample: perExample,
    replyBytes: sum((p) => p.traffic.bytesReceived) / requests,
  };
}

/** The element-wise median of several runs' constants. */
/**
 * Loopback's effective bandwidth: the bytes of a request and its reply over their transfer time
 * (round trip less the worker's part), from a run with one request in flight per worker: with two,
 * a worker computing one reads the other's body only afterwards, which shows as transfer.
 */
function loopbackOf(r: Run): Link {
  const passes = r.epochs.flatMap((e) => e.passes);
  const bytes = passes.reduce((a, p) => a + p.traffic.bytesSent + p.traffic.bytesReceived, 0);
  const ms = passes.reduce((a, p) => a + p.outcomes.reduce((b, o) => b + (o.ok ? o.timing?.transfer ?? 0 : 0), 0), 0);
  return { bitsPerSecond: (8 * bytes) / (ms / 1000), rttMs: 0 };
}

function medianConstants(all: readonly PassConstants[]): PassConstants {
  const keys = Object.keys(all[0]) as (keyof PassConstants)[];
  return Object.fromEntries(keys.map((k) => [k, median(all.map((c) => c[k]))])) as unknown as PassConstants;
}

await useBackend("wasm");
const dataset = await loadMnist();
const workers = await Promise.all([startWorker("deno", { secret: SECRET }), startWorker("deno", { secret: SECRET })]);
const http = async (n: number) => {
  const p = new HttpPool(workers.slice(0, n).map((w) => w.url), { secret: SECRET });
  await p.start();
  return p;
};
const where = (workers: number) => (workers === 0 ? "in process" : workers === 1 ? "1 worker" : `${workers} workers`);
const localName = (innerState: InnerState, workers: number) => `local K=${REPLICAS} H=${INNER_STEPS} ${innerState}, ${where(workers)}`;
const VARIANTS: readonly { readonly name: string; readonly mode: Mode; readonly innerState: InnerState; readonly workers: number }[] = [
  ...[0, 1, 2].map((workers) => ({ name: `sync, ${where(workers)}`, mode: "sync" as const, innerState: "reset" as const, workers })),
  ...INNER_STATES.flatMap((innerState) => [0, 1, 2].map((workers) => ({ name: localName(innerState, workers), mode: "local" as const, innerState, workers }))),
];

const results = new Map<string, Run[]>();
const loadBefore = os.loadavg()[0];
try {
  const pools = await Promise.all(VARIANTS.map((v) => (v.workers === 0 ? Promise.resolve(new InProcessPool()) : http(v.workers))));
  // Warm-up: JIT, wasm, connections; one epoch of each mode on every pool.
  for (const [i, v] of VARIANTS.entries()) await run(pools[i], v.mode, v.innerState, 1);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, v] of VARIANTS.entries()) {
      const r = await run(pools[i], v.mode, v.innerState);
      (results.get(v.name) ?? results.set(v.name, []).get(v.name)!).push(r);
      console.error(`${v.name}: ${r.epochs.map((e) => `${e.entry.examplesPerSecond.toFixed(0)}/s dev ${e.entry.devError?.toFixed(4)}`).join(", ")}`);
    }
  }
  for (const p of pools) (p as { close?: () => void }).close?.();
} finally {
  await Promise.all(workers.map((w) => w.stop()));
}

// ---- the table ----
const eps = (name: string) => median(results.get(name)!.flatMap((r) => r.epochs.map((e) => e.entry.examplesPerSecond)));
/** Training ms to the end of the first epoch at or under TARGET (null: not reached in EPOCHS). */
const toTarget = (r: Run) => {
  let ms = 0;
  for (const e of r.epochs) {
    ms += e.trainMs;
    if (e.entry.devError !== null && e.entry.devError <= TARGET) return { ms, epoch: e.entry.epoch + 1 };
  }
  return null;
};
const lines = [
  "| variant | examples/s (median) | × sync in process | × sync, 2 workers | to dev error ≤ 10%: s (epochs) | dev error after 5 epochs | bytes/example | requests/epoch | pass ms | plan | encode | transfer | compute | decode | reduce | optimizer |",
  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
];
const base = eps("sync, in process"), sync2 = eps("sync, 2 workers");
for (const v of VARIANTS) {
  const runs = results.get(v.name)!;
  const reached = runs.map(toTarget);
  const target = reached.every((x) => x) ? `${(median(reached.map((x) => x!.ms)) / 1000).toFixed(2)} (${reached[0]!.epoch})` : "not reached";
  const epochs = runs.flatMap((r) => r.epochs);
  const passes = epochs.flatMap((e) => e.passes);
  const bytes = passes.reduce((a, p) => a + p.traffic.bytesSent + p.traffic.bytesReceived, 0) / passes.reduce((a, p) => a + p.examples, 0);
  const requests = passes.reduce((a, p) => a + p.traffic.requests, 0) / epochs.length;
  // The breakdown the job reports is per inner step in local mode: a round is H of them.
  const per = v.mode === "local" ? INNER_STEPS : 1;
  const b = epochs[epochs.length >> 1].entry.breakdown;
  const phases = [b.plan, b.encode, b.transfer, b.compute, b.decode, b.reduce, b.optimizer].map((x) => (x * per).toFixed(1));
  const last = runs[0].epochs.at(-1)!.entry.devError;
  lines.push(`| ${v.name} | ${eps(v.name).toFixed(0)} | ${(eps(v.name) / base).toFixed(2)} | ${(eps(v.name) / sync2).toFixed(2)} | ${target} | ${last === null ? "–" : (100 * last).toFixed(2) + "%"} | ${v.workers === 0 ? "–" : bytes.toFixed(0)} | ${v.workers === 0 ? "–" : requests.toFixed(0)} | ${median(passes.map((p) => p.ms)).toFixed(1)} | ${phases.join(" | ")} |`);
}
const local = (innerState: InnerState, workers: number) => eps(localName(innerState, workers));

// ---- the model's constants: each mode's one-worker runs (local: reset); the check covers 1 and 2 workers ----
const byName = (name: string) => results.get(name)!;
const constants: MeasuredConstants = {
  date: new Date().toISOString().slice(0, 10),
  sync: medianConstants(byName("sync, 1 worker").map((r) => constantsOf(r, "sync"))),
  local: medianConstants(byName(localName("reset", 1)).map((r) => constantsOf(r, "local"))),
  loopback: { bitsPerSecond: median(byName("sync, 1 worker").map((r) => loopbackOf(r).bitsPerSecond)), rttMs: 0 },
  job: { batchSize: BATCH, maxShards: BATCH / CHUNK, replicas: REPLICAS, innerSteps: INNER_STEPS, examples: results.get("sync, 1 worker")![0].epochs[0].passes.reduce((a, p) => a + p.examples, 0) },
  runs: VARIANTS.filter((v) => v.workers > 0 && (v.mode === "sync" || v.innerState === "reset")).map((v) => {
    const runs = byName(v.name);
    return {
      name: v.name,
      mode: v.mode,
      workers: v.workers,
      epochMs: median(runs.flatMap((r) => r.epochs.map((e) => e.trainMs))),
      computeMsPerExample: median(runs.map((r) => constantsOf(r, v.mode).computeMsPerExample)),
    };
  }),
};
writeFileSync(new URL("./scaling-constants.json", import.meta.url), JSON.stringify(constants, null, 2) + "\n");
const check = checkLines(constants);

const cpu = os.cpus();
const header = [
  `Machine: ${cpu[0]?.model ?? "cpu"}, ${cpu.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; Node ${process.version}. Run ${constants.date}, ` +
    `${ROUNDS} rounds of every variant, interleaved, after a warm-up epoch of each; load average ${loadBefore.toFixed(2)} before, ${os.loadavg()[0].toFixed(2)} after.`,
  "",
  `Reference MLP 784-256-128-10 (batch norm, dropout 0.8), builtin MNIST (6,000 training digits, 2,000 dev), Adam 1e-3, batch ${BATCH}, chunks of ${CHUNK}, ` +
    `deterministic, ${EPOCHS} epochs per job. Local: K = ${REPLICAS} replicas of ${BATCH / REPLICAS} examples per inner step, H = ${INNER_STEPS}, innerState reset and keep, ` +
    "outer Nesterov 0.7/0.9 (3 rounds per epoch). Examples/s: median over every epoch of every round, evaluation excluded; time to target: training seconds " +
    "to the end of the first epoch at dev error ≤ 10% (median over rounds; deterministic, so the dev errors of a mode are the same bits on every pool). " +
    "Bytes per example: request and reply bodies of the training passes over their examples (retries and hedges included). Pass: a step (sync) or a round " +
    `(local), its median wall ms; the phases are the job's reported breakdown, per round in local mode (× H). Coordinator and workers share the machine's ${cpu.length} cores.`,
  "",
  ...lines,
  "",
  "Targets (reported, not asserted), for each innerState:",
  "",
  ...INNER_STATES.map((st) =>
    `- ${st}: local on 2 workers ÷ sync on 2 workers = **${(local(st, 2) / sync2).toFixed(2)}** (target ≥ 1.5); ` +
    `local on 1 worker ÷ the same local job in process = **${(local(st, 1) / local(st, 0)).toFixed(2)}** (target ≥ 0.9); ` +
    `local on 2 workers ÷ local on 1 = ${(local(st, 2) / local(st, 1)).toFixed(2)}.`
  ),
  `- sync 2 ÷ sync 1 = ${(sync2 / eps("sync, 1 worker")).toFixed(2)}.`,
  "",
  "The scaling model's check (bench/scaling-model.ts, constants from the one-worker runs, local with innerState reset, written to bench/scaling-constants.json):",
  "",
  ...check.lines,
  "",
];
console.log(header.join("\n"));
if (args.includes("--write")) writeSection("scaling", header);
