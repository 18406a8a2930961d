/**
 * Benchmark: bytes per training example with compact inputs (uint8 codes, DESIGN.md "Compact
 * inputs") and with the float32 rows the coordinator sent before, for sync steps and local
 * rounds (K = 4) of the reference MLP on builtin MNIST at the same batch size. One epoch of each
 * job on one Deno worker; the figure is the job's own `communication.bytesPerExample` (request
 * and reply bodies of the training passes ÷ their examples). The float32 column is the same job
 * with the prepared data's codes left out, which is what a dataset of more than 256 distinct
 * values gets.
 *
 * Run: node --expose-gc --import tsx bench/compact-inputs.ts [--write]
 */
import os from "node:os";
import { loadMnist } from "../core/data/mod.ts";
import { parseJobSpec } from "../core/job/spec.ts";
import { planModel } from "../core/model/spec.ts";
import { useBackend } from "../core/tf.ts";
import { HttpPool } from "../coordinator/pool/http-pool.ts";
import { prepareData } from "../coordinator/training/prepared-data.ts";
import { train } from "../coordinator/training/trainer.ts";
import { startWorker } from "../tests/helpers/worker-process.ts";
import { REFERENCE_MLP } from "./reference.ts";
import { writeSection } from "./results.ts";

const SECRET = "bench-secret-0123456789abcdef";
const BATCH = 64, REPLICAS = 4;

type Distribution = { mode: "sync" } | { mode: "local"; replicas: number; innerSteps: number; innerState: "keep" | "reset" };
const CONFIGS: readonly { readonly name: string; readonly distribution: Distribution }[] = [
  { name: "sync", distribution: { mode: "sync" } },
  ...[1, 16, 64].flatMap((h) => (["keep", "reset"] as const).map((innerState) => ({
    name: `local H=${h} ${innerState}`,
    distribution: { mode: "local" as const, replicas: REPLICAS, innerSteps: h, innerState },
  }))),
];

async function bytesPerExample(pool: HttpPool, distribution: Distribution, codes: boolean): Promise<number> {
  const spec = parseJobSpec({
    name: "compact-inputs", dataset: { id: "builtin:mnist" }, model: REFERENCE_MLP, optimizer: { type: "adam", learningRate: 1e-3 },
    batchSize: BATCH, chunkSize: BATCH / REPLICAS, epochs: 1, deterministic: true, distribution,
  });
  const plan = planModel(spec.model);
  const prepared = prepareData(dataset, spec, plan);
  if (!prepared.inputCodes) throw new Error("builtin MNIST should have input codes");
  const data = codes ? prepared : { ...prepared, inputCodes: null };
  let perExample = NaN;
  await train({
    spec, plan, data, pool, signal: new AbortController().signal, checkpoint: async () => {},
    emit: (e) => {
      if (e.type === "communication") perExample = e.communication.bytesPerExample ?? NaN;
    },
  });
  return perExample;
}

await useBackend("wasm");
const dataset = await loadMnist();
const worker = await startWorker("deno", { secret: SECRET });
const rows: { name: string; float32: number; uint8: number }[] = [];
try {
  const http = new HttpPool([worker.url], { secret: SECRET });
  await http.start();
  for (const config of CONFIGS) {
    const float32 = await bytesPerExample(http, config.distribution, false);
    const uint8 = await bytesPerExample(http, config.distribution, true);
    rows.push({ name: config.name, float32, uint8 });
    console.error(`${config.name}: ${float32.toFixed(0)} → ${uint8.toFixed(0)} B/example`);
  }
  http.close();
} finally {
  await worker.stop();
}

const sync = rows[0];
const lines = [
  `Run ${new Date().toISOString().slice(0, 10)} on ${os.cpus()[0]?.model ?? "cpu"}, ${os.cpus().length} cores.`,
  "",
  `Reference MLP 784-256-128-10 (BN, dropout), builtin MNIST (6,000 training digits), Adam inner, batch ${BATCH} in both modes, ` +
    `one epoch on one Deno worker; local: K = ${REPLICAS} (${BATCH / REPLICAS} examples per replica and inner step), rounds within the epoch's 94 steps. ` +
    "Bytes per example as the job reports them (request + reply bodies of training ÷ examples). float32: the rows as before; " +
    "uint8: compact inputs (one byte per pixel, the 256-value table and the normalization in the context).",
  "",
  "| job | float32 B/example | uint8 B/example | saved | sync (uint8) ÷ this (uint8) | sync (float32) ÷ this (uint8) |",
  "|---|---:|---:|---:|---:|---:|",
  ...rows.map((r) => `| ${r.name} | ${r.float32.toFixed(0)} | ${r.uint8.toFixed(0)} | ${(100 * (1 - r.uint8 / r.float32)).toFixed(0)}% | ` +
    `${(sync.uint8 / r.uint8).toFixed(1)} | ${(sync.float32 / r.uint8).toFixed(1)} |`),
  "",
];
console.log(lines.join("\n"));
if (process.argv.includes("--write")) writeSection("compact-inputs", lines);
