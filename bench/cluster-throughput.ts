/**
 * Benchmark: training throughput (examples per second over an epoch, evaluation excluded, as a
 * job reports it) of the reference MLP 784-256-128-10 (batch norm, dropout, batch 256, Adam) on
 * builtin MNIST, with 1 and 2 real Deno workers over HTTP, against the same training in process
 * on the same (wasm) backend. The variants run interleaved in one process, several rounds, and
 * the medians are compared, so machine noise hits them alike.
 *
 * Run: node --expose-gc --import tsx bench/cluster-throughput.ts [--rounds N] [--write]
 */
import { execFileSync } from "node:child_process";
import os from "node:os";
import { loadMnist } from "../core/data/mod.ts";
import { parseJobSpec } from "../core/job/spec.ts";
import { planModel } from "../core/model/spec.ts";
import { useBackend } from "../core/tf.ts";
import { HttpPool } from "../coordinator/pool/http-pool.ts";
import { InProcessPool } from "../coordinator/pool/in-process-pool.ts";
import type { WorkerPool } from "../coordinator/pool/worker-pool.ts";
import { prepareData } from "../coordinator/training/prepared-data.ts";
import { type EpochMetrics, train } from "../coordinator/training/trainer.ts";
import { startWorker } from "../tests/helpers/worker-process.ts";
import { collectYoungGarbage, median, REFERENCE_MLP } from "./reference.ts";
import { writeSection } from "./results.ts";

const args = process.argv.slice(2);
const ROUNDS = args.includes("--rounds") ? Number(args[args.indexOf("--rounds") + 1]) : 3;
const SECRET = "bench-secret-0123456789abcdef";

const job = (deterministic: boolean) => parseJobSpec({
  name: "bench",
  dataset: { id: "builtin:mnist" },
  model: REFERENCE_MLP,
  optimizer: { type: "adam", learningRate: 1e-3 },
  batchSize: 256,
  chunkSize: 32,
  epochs: 1,
  deterministic,
});

await useBackend("wasm");
const dataset = await loadMnist();
const workers = await Promise.all([startWorker("deno", { secret: SECRET }), startWorker("deno", { secret: SECRET })]);
const pools: Record<string, () => Promise<WorkerPool>> = {
  "in-process (Node, wasm)": async () => new InProcessPool(),
  "1 Deno worker": async () => {
    const p = new HttpPool([workers[0].url], { secret: SECRET });
    await p.start();
    return p;
  },
  "2 Deno workers": async () => {
    const p = new HttpPool(workers.map((w) => w.url), { secret: SECRET });
    await p.start();
    return p;
  },
};

async function epoch(pool: WorkerPool, deterministic: boolean): Promise<EpochMetrics> {
  const spec = job(deterministic);
  const plan = planModel(spec.model);
  const data = prepareData(dataset, spec, plan);
  let entry: EpochMetrics | null = null;
  collectYoungGarbage();
  await train({
    spec, plan, data, pool, signal: new AbortController().signal, checkpoint: async () => {},
    emit: (e) => {
      if (e.type === "epoch") entry = e.entry;
    },
  });
  return entry!;
}

const lines: string[] = [];
try {
  for (const deterministic of [true, false]) {
    const results: Record<string, EpochMetrics[]> = {};
    const built: Record<string, WorkerPool> = {};
    for (const [name, make] of Object.entries(pools)) built[name] = await make();
    await epoch(built["2 Deno workers"], deterministic); // warm-up: JIT, wasm, connections
    for (let round = 0; round < ROUNDS; round++) {
      for (const name of Object.keys(pools)) (results[name] ??= []).push(await epoch(built[name], deterministic));
    }
    for (const p of Object.values(built)) (p as { close?: () => void }).close?.();
    const eps = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, median(v.map((e) => e.examplesPerSecond))]));
    const base = eps["in-process (Node, wasm)"], one = eps["1 Deno worker"];
    lines.push(`### deterministic: ${deterministic}`, "");
    lines.push("| variant | examples/s (median) | × in-process | × 1 worker | step ms | plan | encode | transfer | compute | decode | reduce | optimizer |");
    lines.push("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (const [name, entries] of Object.entries(results)) {
      const b = entries[entries.length >> 1].breakdown;
      const stepMs = median(entries.map((e) => e.stepMs));
      lines.push(`| ${name} | ${eps[name].toFixed(0)} | ${(eps[name] / base).toFixed(2)} | ${(eps[name] / one).toFixed(2)} | ${stepMs.toFixed(1)} | ${[b.plan, b.encode, b.transfer, b.compute, b.decode, b.reduce, b.optimizer].map((x) => x.toFixed(1)).join(" | ")} |`);
    }
    lines.push("");
  }
} finally {
  await Promise.all(workers.map((w) => w.stop()));
}
const deno = execFileSync(workers.length ? "node_modules/.bin/deno" : "true", ["--version"], { encoding: "utf8" }).split("\n")[0];
const machine = `${os.cpus()[0]?.model ?? "cpu"}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; Node ${process.version}, ${deno}`;
const header = [
  `Machine: ${machine}. Run ${new Date().toISOString().slice(0, 10)}, ${ROUNDS} rounds per variant, interleaved, after a warm-up epoch.`,
  "",
  "Reference MLP 784-256-128-10 (batch norm, dropout 0.8, He init), MNIST training split (6,000 examples, 24 steps of 256), Adam, chunks of 32. " +
    "Examples per second over one epoch, evaluation excluded (what a job reports as throughput); the step breakdown is the median step's, in ms " +
    "(shards run in parallel: each phase is the slowest shard's). The coordinator here is this Node process; workers are Deno processes on the same 2 cores.",
  "",
];
console.log([...header, ...lines].join("\n"));
if (args.includes("--write")) writeSection("cluster-throughput", [...header, ...lines]);
