/**
 * Benchmark: the coordinator's serial cost of sending one training step to N workers, i.e.
 * encoding and hashing (for the signature) the step's N request bodies, which the worker pool does
 * one after another on the coordinator's thread before the last shard can leave. Two ways, side by
 * side: every shard encoded and hashed whole (each task on its own, as the pool did before
 * 2026-12-02), and the step's shards sharing one encoding and one hash of their common fields
 * (model, parameters, step, ...; coordinator/pool/request-bodies.ts). No network and no worker:
 * this is the part of a step that does not get faster with more workers.
 *
 * Run: node --expose-gc --import tsx bench/step-bodies.ts [--runs N] [--write]
 */
import os from "node:os";
import { initParameters } from "../core/model/parameters.ts";
import { parseModelSpec, planModel } from "../core/model/spec.ts";
import { wireFloat32, wireInt32 } from "../core/wire/tensor.ts";
import { BufferPool } from "../coordinator/pool/buffer-pool.ts";
import { RequestBodies } from "../coordinator/pool/request-bodies.ts";
import { wireTensors } from "../tests/helpers/wire-fixtures.ts";
import { collectYoungGarbage, median, REFERENCE_MLP, referenceBatch } from "./reference.ts";
import { writeSection } from "./results.ts";

const args = process.argv.slice(2);
const RUNS = args.includes("--runs") ? Number(args[args.indexOf("--runs") + 1]) : 60;
const M = 256, CHUNK = 32, N_IN = 784;
const SHARDS = [1, 2, 4, 8];

const plan = planModel(parseModelSpec(REFERENCE_MLP));
const params = initParameters(plan, 1);
const batch = referenceBatch(M, 1);

/** The step's tasks as the trainer builds them: one parameters record shared by all shards. */
function stepTasks(shards: number, step: number): object[] {
  const parameters = wireTensors(params, plan.parameters);
  const rows = M / shards;
  return Array.from({ length: shards }, (_, s) => {
    const a = s * rows, b = a + rows;
    return {
      protocol: 1, model: plan.spec, parameters,
      inputs: wireFloat32(batch.inputs.subarray(a * N_IN, b * N_IN), [rows, N_IN]),
      labels: wireInt32((batch.labels as Int32Array).subarray(a, b), [rows]),
      indices: wireInt32(Int32Array.from(batch.indices).subarray(a, b), [rows]),
      chunkSize: CHUNK, step, seed: 42, deterministic: true, firstChunk: a / CHUNK, totalChunks: M / CHUNK, backend: "wasm",
    };
  });
}

// One encoder per variant, each with its own warm buffers, as a pool has.
const shared = new RequestBodies(new BufferPool({ buffers: 20 }), { signed: true });
const whole = new RequestBodies(new BufferPool({ buffers: 20 }), { signed: true });

/**
 * Milliseconds to prepare every body of a step, each task on its own: opened, prepared and closed
 * before the next is opened, so that no two share a context and each is encoded and hashed whole.
 */
function eachWhole(tasks: object[]): number {
  const t0 = performance.now();
  for (const t of tasks) {
    const body = whole.open(t);
    body.prepare();
    body.close();
  }
  return performance.now() - t0;
}

/** Milliseconds to prepare every body of a step dispatched together (how the pool opens them). */
function together(tasks: object[]): number {
  const t0 = performance.now();
  const open = tasks.map((t) => shared.open(t));
  for (const b of open) b.prepare();
  const ms = performance.now() - t0;
  for (const b of open) b.close();
  return ms;
}

const times: Record<string, number[]> = {};
const variants = SHARDS.flatMap((n) => [
  [`${n} whole`, (step: number) => eachWhole(stepTasks(n, step))],
  [`${n} shared`, (step: number) => together(stepTasks(n, step))],
] as const);
for (let i = 0; i < 5; i++) for (const [, run] of variants) run(i);
for (let i = 0; i < RUNS; i++) {
  // A fresh random order each round, so that neither way always follows the other.
  for (const [name, run] of [...variants].sort(() => Math.random() - 0.5)) {
    collectYoungGarbage();
    (times[name] ??= []).push(run(i));
  }
}

const lines = [
  `Machine: ${os.cpus()[0]?.model ?? "cpu"}, ${os.cpus().length} cores; Node ${process.version}. Run ${new Date().toISOString().slice(0, 10)}, medians of ${RUNS} rounds, each running every variant once in a fresh random order. Load average before: ${os.loadavg()[0].toFixed(2)}.`,
  "",
  `Reference MLP 784-256-128-10 (${(plan.parameterCount * 4 / 1e6).toFixed(2)} MB of parameters), a batch of ${M} split into N shards of whole chunks of ${CHUNK}; signed bodies (MessagePack encode into pooled memory + SHA-256). Coordinator milliseconds per step to prepare all N bodies.`,
  "",
  "| shards N | each shard whole (ms) | shards share the common fields (ms) | shared ÷ whole |",
  "|---:|---:|---:|---:|",
  ...SHARDS.map((n) => {
    const a = median(times[`${n} whole`]), b = median(times[`${n} shared`]);
    return `| ${n} | ${a.toFixed(2)} | ${b.toFixed(2)} | ${(b / a).toFixed(2)} |`;
  }),
];
console.log(lines.join("\n"));
if (args.includes("--write")) writeSection("step-bodies", lines);
