/**
 * Benchmark: what local-step rounds cost in accuracy and save in bytes. The reference MLP on
 * builtin MNIST trained for the same examples in sync mode and in local mode with K = 4 replicas,
 * H = 1, 4, 16, 64 inner steps and both `innerState` choices: the dev error after every epoch
 * (the curve), and the bytes per example the job reports (`communication.bytesPerExample`), with
 * the ratio sync ÷ local at the same batch size. The curve is trained in process (deterministic
 * jobs have the same bits on any pool); the bytes are those of one epoch on a Deno worker.
 *
 * Batch 64 (16 examples per replica and step), so that an epoch of the 6,000 training digits has
 * 94 steps and H = 64 is a real round (rounds do not cross epochs: an epoch has rounds of 64 and 30).
 *
 * Run: node --expose-gc --import tsx bench/local-quality.ts [--epochs N] [--write]
 */
import os from "node:os";
import { loadMnist } from "../core/data/mod.ts";
import type { JobCommunication } from "../core/job/api.ts";
import { parseJobSpec } from "../core/job/spec.ts";
import { planModel } from "../core/model/spec.ts";
import { useBackend } from "../core/tf.ts";
import { HttpPool } from "../coordinator/pool/http-pool.ts";
import { InProcessPool } from "../coordinator/pool/in-process-pool.ts";
import type { WorkerPool } from "../coordinator/pool/worker-pool.ts";
import { prepareData } from "../coordinator/training/prepared-data.ts";
import { train } from "../coordinator/training/trainer.ts";
import { startWorker } from "../tests/helpers/worker-process.ts";
import { REFERENCE_MLP } from "./reference.ts";
import { writeSection } from "./results.ts";

const args = process.argv.slice(2);
const EPOCHS = args.includes("--epochs") ? Number(args[args.indexOf("--epochs") + 1]) : 6;
const SECRET = "bench-secret-0123456789abcdef";
const BATCH = 64, REPLICAS = 4;

type Distribution = { mode: "sync" } | { mode: "local"; replicas: number; innerSteps: number; innerState: "keep" | "reset" };
const CONFIGS: readonly { readonly name: string; readonly distribution: Distribution }[] = [
  { name: "sync", distribution: { mode: "sync" } },
  ...[1, 4, 16, 64].flatMap((h) => (["keep", "reset"] as const).map((innerState) => ({
    name: `local H=${h} ${innerState}`,
    distribution: { mode: "local" as const, replicas: REPLICAS, innerSteps: h, innerState },
  }))),
];

async function run(pool: WorkerPool, distribution: Distribution, epochs: number): Promise<{ dev: number[]; communication: JobCommunication | null }> {
  const spec = parseJobSpec({
    name: "local-quality", dataset: { id: "builtin:mnist" }, model: REFERENCE_MLP, optimizer: { type: "adam", learningRate: 1e-3 },
    batchSize: BATCH, chunkSize: BATCH / REPLICAS, epochs, deterministic: true, distribution,
  });
  const plan = planModel(spec.model);
  const data = prepareData(dataset, spec, plan);
  const dev: number[] = [];
  let communication: JobCommunication | null = null;
  await train({
    spec, plan, data, pool, signal: new AbortController().signal, checkpoint: async () => {},
    emit: (e) => {
      if (e.type === "epoch") dev.push(e.entry.devError!);
      if (e.type === "communication") communication = e.communication;
    },
  });
  return { dev, communication };
}

await useBackend("wasm");
const dataset = await loadMnist();
const worker = await startWorker("deno", { secret: SECRET });
const rows: { name: string; dev: number[]; bytesPerExample: number; seconds: number }[] = [];
const loadBefore = os.loadavg()[0];
try {
  const http = new HttpPool([worker.url], { secret: SECRET });
  await http.start();
  for (const config of CONFIGS) {
    const t0 = performance.now();
    const { dev } = await run(new InProcessPool(), config.distribution, EPOCHS);
    const seconds = (performance.now() - t0) / 1000;
    // Every epoch moves the same bytes per example: one epoch on the worker measures them.
    const bytesPerExample = (await run(http, config.distribution, 1)).communication?.bytesPerExample ?? NaN;
    rows.push({ name: config.name, dev, bytesPerExample, seconds });
    console.error(`${config.name}: ${dev.map((d) => (100 * d).toFixed(2)).join(" ")}, ${bytesPerExample.toFixed(0)} B/example`);
  }
  http.close();
} finally {
  await worker.stop();
}

const sync = rows[0];
const lines = [
  `Run ${new Date().toISOString().slice(0, 10)} on ${os.cpus()[0]?.model ?? "cpu"}, ${os.cpus().length} cores; load average ${loadBefore.toFixed(2)} before, ${os.loadavg()[0].toFixed(2)} after.`,
  "",
  `Reference MLP 784-256-128-10 (batch norm, dropout 0.8), builtin MNIST (6,000 training digits, 2,000 dev), Adam 1e-3 (the inner optimizer in local mode), ` +
    `batch ${BATCH} in both modes, deterministic, ${EPOCHS} epochs (${(6000 * EPOCHS).toLocaleString("en")} training examples). Local: K = ${REPLICAS} replicas of ${BATCH / REPLICAS} examples ` +
    "per inner step, outer Nesterov 0.7/0.9; 94 inner steps per epoch, rounds within an epoch (H = 64: rounds of 64 and 30). " +
    "Dev error (%) after each epoch (trained in process: the same bits as on workers); bytes per example: what the job reports (request and reply " +
    "bodies of the training passes ÷ their examples) for one epoch on one Deno worker. Sync's bytes grow with the number of workers (each shard carries the parameters and returns a gradient); local mode's do not.",
  "",
  `| job | ${Array.from({ length: EPOCHS }, (_, e) => `${((6000 * (e + 1)) / 1000).toFixed(0)}k`).join(" | ")} | Δ vs sync (points) | bytes/example | sync ÷ this | s in process (evaluation included) |`,
  `|---|${Array.from({ length: EPOCHS }, () => "---:").join("|")}|---:|---:|---:|---:|`,
  ...rows.map((r) => {
    const delta = 100 * (r.dev.at(-1)! - sync.dev.at(-1)!);
    return `| ${r.name} | ${r.dev.map((d) => (100 * d).toFixed(2)).join(" | ")} | ${r === sync ? "–" : `${delta >= 0 ? "+" : ""}${delta.toFixed(2)}`} | ` +
      `${r.bytesPerExample.toFixed(0)} | ${(sync.bytesPerExample / r.bytesPerExample).toFixed(2)} | ${r.seconds.toFixed(1)} |`;
  }),
  "",
];
console.log(lines.join("\n"));
if (args.includes("--write")) writeSection("local-quality", lines);
