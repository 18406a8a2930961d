/**
 * Benchmark: the coordinator's serial work in one training step of N shards, the part of a step
 * that more workers do not shorten. Two parts, each done two ways side by side in one run:
 * - sending: encoding and hashing (for the signature) the step's N request bodies, which the worker
 *   pool does one after another before the last shard can leave. Every shard whole (as the pool did
 *   before 2026-12-02) against the step's shards sharing one encoding and one hash of their common
 *   fields (model, parameters, step, ...; coordinator/pool/request-bodies.ts);
 * - summing: the canonical tree over the N replies' gradient blocks and the division by the batch
 *   size, as the trainer does it (coordinator/training/trainer.ts): with a new array for every sum
 *   and for the quotient once all replies are in (before 2026-12-02), in place once all are in,
 *   and in place as the replies come in (TreeAccumulator, what the trainer does now), timing only
 *   what is left after the last reply (a random one of the N) arrives.
 * No network and no worker.
 *
 * Run: node --expose-gc --import tsx bench/coordinator-step.ts [--runs N] [--write]
 */
import os from "node:os";
import { initParameters } from "../core/model/parameters.ts";
import { parseModelSpec, planModel } from "../core/model/spec.ts";
import { addFloat32, addInto, addNamedArraysInto, alignedBlocks, combineBlocks, TreeAccumulator } from "../core/reduce-tree.ts";
import { wireFloat32, wireInt32, wireTensors } from "../core/wire/tensor.ts";
import type { StepTask } from "../core/work.ts";
import { BufferPool } from "../coordinator/pool/buffer-pool.ts";
import { RequestBodies } from "../coordinator/pool/request-bodies.ts";
import { collectYoungGarbage, median, REFERENCE_MLP, referenceBatch } from "./reference.ts";
import { writeSection } from "./results.ts";

const args = process.argv.slice(2);
const RUNS = args.includes("--runs") ? Number(args[args.indexOf("--runs") + 1]) : 60;
const M = 256, CHUNK = 32, N_IN = 784;
const SHARDS = [1, 2, 4, 8];

const plan = planModel(parseModelSpec(REFERENCE_MLP));
const params = initParameters(plan, 1);
const batch = referenceBatch(M, 1);

/** The step's task as the trainer builds it (core/work.ts): one context, N shards. */
function stepTask(shards: number, step: number): StepTask {
  const rows = M / shards;
  return {
    context: {
      model: plan.spec, parameters: wireTensors(plan.parameters, params),
      chunkSize: CHUNK, step, seed: 42, deterministic: true, totalChunks: M / CHUNK, backend: "wasm",
    },
    shards: Array.from({ length: shards }, (_, s) => {
      const a = s * rows, b = a + rows;
      return {
        inputs: wireFloat32(batch.inputs.subarray(a * N_IN, b * N_IN), [rows, N_IN]),
        labels: wireInt32((batch.labels as Int32Array).subarray(a, b), [rows]),
        indices: wireInt32(Int32Array.from(batch.indices).subarray(a, b), [rows]),
        firstChunk: a / CHUNK,
      };
    }),
  };
}

// One encoder per variant and shard count, each with its own warm buffers, as a pool running
// steps of one size has.
const encoder = () => new RequestBodies(new BufferPool({ buffers: 20 }), { signed: true });

/**
 * Milliseconds to prepare every body of a step, each shard as a task of its own, so that each is
 * encoded and hashed whole.
 */
function eachWhole(whole: RequestBodies, task: StepTask): number {
  const t0 = performance.now();
  for (const shard of task.shards) {
    const bodies = whole.open(task.context, [shard]);
    bodies.prepare(0);
    bodies.close();
  }
  return performance.now() - t0;
}

/** Milliseconds to prepare every body of a step as one task (how the pool runs it). */
function together(shared: RequestBodies, task: StepTask): number {
  const t0 = performance.now();
  const bodies = shared.open(task.context, task.shards);
  task.shards.forEach((_, i) => bodies.prepare(i));
  const ms = performance.now() - t0;
  bodies.close();
  return ms;
}

/** The step's replies as a pool hands them over: each shard's tree blocks, in fresh arrays. */
function stepReplies(shards: number): { start: number; count: number; value: Record<string, Float32Array> }[] {
  const chunks = M / CHUNK;
  return Array.from({ length: shards }, (_, s) => alignedBlocks(s * chunks / shards, (s + 1) * chunks / shards, chunks))
    .flat()
    .map((b) => ({ ...b, value: Object.fromEntries(plan.parameters.map((p) => [p.name, params[p.name].slice()])) }));
}

/** Milliseconds to sum a step's gradients once all replies are in: the tree, then the division by the batch size. */
function sum(blocks: ReturnType<typeof stepReplies>, inPlace: boolean): number {
  const t0 = performance.now();
  for (const p of plan.parameters) {
    const g = combineBlocks(blocks.map((b) => ({ ...b, value: b.value[p.name] })), M / CHUNK, inPlace ? addInto : addFloat32);
    const out = inPlace ? g : new Float32Array(g.length);
    for (let i = 0; i < g.length; i++) out[i] = g[i] / M;
  }
  return performance.now() - t0;
}

/**
 * Milliseconds left after the last reply when the replies are summed in place as they come in
 * (the trainer's way): all but a random one are added first, untimed.
 */
function sumAsTheyCome(blocks: ReturnType<typeof stepReplies>): number {
  const tree = new TreeAccumulator(M / CHUNK, addNamedArraysInto);
  const last = Math.floor(Math.random() * blocks.length);
  blocks.forEach((b, i) => i !== last && tree.add(b.start, b.count, b.value));
  const t0 = performance.now();
  tree.add(blocks[last].start, blocks[last].count, blocks[last].value);
  const root = tree.result();
  for (const p of plan.parameters) {
    const g = root[p.name];
    for (let i = 0; i < g.length; i++) g[i] = g[i] / M;
  }
  return performance.now() - t0;
}

const times: Record<string, number[]> = {};
const variants = SHARDS.flatMap((n) => [
  [`send ${n} whole`, ((e) => (step: number) => eachWhole(e, stepTask(n, step)))(encoder())],
  [`send ${n} shared`, ((e) => (step: number) => together(e, stepTask(n, step)))(encoder())],
  [`sum ${n} new`, () => sum(stepReplies(n), false)],
  [`sum ${n} in place`, () => sum(stepReplies(n), true)],
  [`sum ${n} as they come`, () => sumAsTheyCome(stepReplies(n))],
] as const);
for (let i = 0; i < 5; i++) for (const [, run] of variants) run(i);
for (let i = 0; i < RUNS; i++) {
  // A fresh random order each round, so that neither way always follows the other.
  for (const [name, run] of [...variants].sort(() => Math.random() - 0.5)) {
    collectYoungGarbage();
    (times[name] ??= []).push(run(i));
  }
}

/** A row: the shard count, the medians of `names`, and each later one's ratio to the first. */
const row = (n: number, ...names: string[]) => {
  const [x, ...ys] = names.map((name) => median(times[name]));
  return `| ${n} | ${[x, ...ys].map((t) => t.toFixed(2)).join(" | ")} | ${ys.map((y) => (y / x).toFixed(2)).join(" | ")} |`;
};
const lines = [
  `Machine: ${os.cpus()[0]?.model ?? "cpu"}, ${os.cpus().length} cores; Node ${process.version}. Run ${new Date().toISOString().slice(0, 10)}, medians of ${RUNS} rounds, each running every variant once in a fresh random order. Load average before: ${os.loadavg()[0].toFixed(2)}.`,
  "",
  `Reference MLP 784-256-128-10 (${(plan.parameterCount * 4 / 1e6).toFixed(2)} MB of parameters), a batch of ${M} split into N shards of whole chunks of ${CHUNK}, deterministic. Coordinator milliseconds per step.`,
  "",
  "Sending: encoding and hashing the N signed request bodies (MessagePack into pooled memory, SHA-256).",
  "",
  "| shards N | each shard whole | shards share the common fields | shared ÷ whole |",
  "|---:|---:|---:|---:|",
  ...SHARDS.map((n) => row(n, `send ${n} whole`, `send ${n} shared`)),
  "",
  "Summing: the canonical tree over the replies' gradient blocks and the division by the batch size; the last column times only what is left after the last reply when the others were summed as they came in.",
  "",
  "| shards N | new arrays, all in | in place, all in | in place as they come: after the last | in place ÷ new | after the last ÷ new |",
  "|---:|---:|---:|---:|---:|---:|",
  ...SHARDS.map((n) => row(n, `sum ${n} new`, `sum ${n} in place`, `sum ${n} as they come`)),
];
console.log(lines.join("\n"));
if (args.includes("--write")) writeSection("coordinator-step", lines);
