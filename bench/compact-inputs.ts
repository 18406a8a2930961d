/**
 * Benchmark: bytes per training example with compact inputs (uint8 codes, DESIGN.md "Compact
 * inputs") and with the float32 rows the coordinator sent before, for sync steps and local
 * rounds (K = 4) of the reference MLP on builtin MNIST at the same batch size. One epoch of each
 * job on one Deno worker; the figure is the job's own `communication.bytesPerExample` (request
 * and reply bodies of the training passes ÷ their examples). The float32 column is the same job
 * with the prepared data's codes left out, which is what a dataset of more than 256 distinct
 * values gets; the "inner state in every reply" column is the uint8 job on a pool that does not
 * advertise `returnInnerState`, as before round replies could leave the moments out. The
 * training split is 8,192 digits, 128 steps of 64: whole rounds for H = 1, 16 and 64 (with
 * 6,000 an epoch's 94 steps made rounds of 64 and 30).
 *
 * Run: node --expose-gc --import tsx bench/compact-inputs.ts [--write]
 */
import os from "node:os";
import { loadMnist } from "../core/data/mod.ts";
import { parseJobSpec } from "../core/job/spec.ts";
import { planModel } from "../core/model/spec.ts";
import { useBackend } from "../core/tf.ts";
import { HttpPool } from "../coordinator/pool/http-pool.ts";
import type { WorkerPool } from "../coordinator/pool/worker-pool.ts";
import { prepareData } from "../coordinator/training/prepared-data.ts";
import { train } from "../coordinator/training/trainer.ts";
import { startWorker } from "../tests/helpers/worker-process.ts";
import { REFERENCE_MLP } from "./reference.ts";
import { writeSection } from "./results.ts";

const SECRET = "bench-secret-0123456789abcdef";
const BATCH = 64, REPLICAS = 4;
// 8,192 of the 10,000 digits for training: 128 steps of 64, whole rounds of every H measured.
const TRAIN = 0.8192;

type Distribution = { mode: "sync" } | { mode: "local"; replicas: number; innerSteps: number; innerState: "keep" | "reset" };
const CONFIGS: readonly { readonly name: string; readonly distribution: Distribution }[] = [
  { name: "sync", distribution: { mode: "sync" } },
  ...[1, 16, 64].flatMap((h) => (["keep", "reset"] as const).map((innerState) => ({
    name: `local H=${h} ${innerState}`,
    distribution: { mode: "local" as const, replicas: REPLICAS, innerSteps: h, innerState },
  }))),
];

/** The pool as one whose workers predate `returnInnerState`: every round reply carries the inner state. */
function withoutLeanReplies(pool: WorkerPool): WorkerPool {
  return {
    capacity: () => ({ ...pool.capacity(), returnInnerState: false }),
    status: () => pool.status(),
    forJob: (policy) => withoutLeanReplies(pool.forJob(policy)),
    runStep: (task, options) => pool.runStep(task, options),
    runEvaluation: (task, options) => pool.runEvaluation(task, options),
    runRound: (task, options) => pool.runRound(task, options),
  };
}

async function bytesPerExample(pool: WorkerPool, distribution: Distribution, codes: boolean): Promise<number> {
  const spec = parseJobSpec({
    name: "compact-inputs", dataset: { id: "builtin:mnist", split: { train: TRAIN, dev: 1 - TRAIN, test: 0 } }, model: REFERENCE_MLP, optimizer: { type: "adam", learningRate: 1e-3 },
    batchSize: BATCH, chunkSize: BATCH / REPLICAS, epochs: 1, deterministic: true, distribution,
  });
  const plan = planModel(spec.model);
  const prepared = prepareData(dataset, spec, plan);
  if (!prepared.inputCodes) throw new Error("builtin MNIST should have input codes");
  if (prepared.train.shape[0] !== 128 * BATCH) throw new Error(`expected ${128 * BATCH} training digits, got ${prepared.train.shape[0]}`);
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
const rows: { name: string; float32: number; stateful: number; uint8: number }[] = [];
try {
  const http = new HttpPool([worker.url], { secret: SECRET });
  await http.start();
  for (const config of CONFIGS) {
    const float32 = await bytesPerExample(withoutLeanReplies(http), config.distribution, false);
    const stateful = await bytesPerExample(withoutLeanReplies(http), config.distribution, true);
    const uint8 = await bytesPerExample(http, config.distribution, true);
    rows.push({ name: config.name, float32, stateful, uint8 });
    console.error(`${config.name}: ${float32.toFixed(0)} → ${stateful.toFixed(0)} → ${uint8.toFixed(0)} B/example`);
  }
  http.close();
} finally {
  await worker.stop();
}

const sync = rows[0];
const lines = [
  `Run ${new Date().toISOString().slice(0, 10)} on ${os.cpus()[0]?.model ?? "cpu"}, ${os.cpus().length} cores.`,
  "",
  `Reference MLP 784-256-128-10 (BN, dropout), builtin MNIST (8,192 training digits: 128 steps of ${BATCH}), Adam inner, batch ${BATCH} in both modes, ` +
    `one epoch on one Deno worker; local: K = ${REPLICAS} (${BATCH / REPLICAS} examples per replica and inner step), whole rounds of H steps. ` +
    "Bytes per example as the job reports them (request + reply bodies of training ÷ examples). float32: the rows as before, every reply with the inner state; " +
    "uint8, state in every reply: compact inputs (one byte per pixel, the 256-value table and the normalization in the context) on workers without `returnInnerState`; " +
    "uint8: compact inputs and, with `reset`, round replies without the inner state (what a job gets now).",
  "",
  "| job | float32 B/example | uint8, state in every reply | uint8 B/example | saved vs float32 | sync (uint8) ÷ this (uint8) | sync (float32) ÷ this (uint8) |",
  "|---|---:|---:|---:|---:|---:|---:|",
  ...rows.map((r) => `| ${r.name} | ${r.float32.toFixed(0)} | ${r.stateful.toFixed(0)} | ${r.uint8.toFixed(0)} | ${(100 * (1 - r.uint8 / r.float32)).toFixed(0)}% | ` +
    `${(sync.uint8 / r.uint8).toFixed(1)} | ${(sync.float32 / r.uint8).toFixed(1)} |`),
  "",
];
console.log(lines.join("\n"));
if (process.argv.includes("--write")) writeSection("compact-inputs", lines);
