/**
 * Benchmark: a worker's gradient step against the WASM matMul it is built on. The step's useful
 * work is counted as the FLOPs of its matMuls (forward Z = A·W, backward dW = Aᵀ·dZ and
 * dA = dZ·Wᵀ); its GFLOP/s is compared with tfjs-wasm's matMul at the size of the largest layer,
 * measured in the same run, interleaved. Target: the step reaches ≥ 0.7 of matMul's GFLOP/s.
 *
 * Run: node --expose-gc --import tsx bench/engine-step.ts [--runs N] [--write]
 */
import os from "node:os";
import { computeGradients } from "../core/model/engine.ts";
import { initParameters } from "../core/model/parameters.ts";
import { parseModelSpec, planModel } from "../core/model/spec.ts";
import { tf, useBackend } from "../core/tf.ts";
import { collectYoungGarbage, median, REFERENCE_MLP, referenceBatch } from "./reference.ts";
import { writeSection } from "./results.ts";

const args = process.argv.slice(2);
const RUNS = args.includes("--runs") ? Number(args[args.indexOf("--runs") + 1]) : 40;
const M = 256;

await useBackend("wasm");
const plan = planModel(parseModelSpec(REFERENCE_MLP));
const params = initParameters(plan, 1);
const batch = referenceBatch(M, 1);
// Forward 2·m·Σ(nIn·nOut); backward: dW the same, dA for every layer but the first.
const dense = [[784, 256], [256, 128], [128, 10]];
const flops = 2 * M * (2 * dense.reduce((s, [a, b]) => s + a * b, 0) + dense.slice(1).reduce((s, [a, b]) => s + a * b, 0));

const a = tf.randomNormal([M, 784]), w = tf.randomNormal([784, 256]);
const variants: Record<string, () => Promise<unknown>> = {
  "matMul 256×784 · 784×256": async () => {
    const r = tf.matMul(a, w);
    await r.data();
    r.dispose();
  },
  "gradient step, exact chunks of 32 (deterministic)": () => computeGradients(plan, params, batch, { chunkSize: 32, step: 0, seed: 1 }),
  "gradient step, exact chunks of 64": () => computeGradients(plan, params, batch, { chunkSize: 64, step: 0, seed: 1 }),
  "gradient step, one matMul per shard (deterministic: false)": () => computeGradients(plan, params, batch, { chunkSize: 32, step: 0, seed: 1, exactChunks: false }),
};
const times: Record<string, number[]> = {};
for (let i = 0; i < 5; i++) for (const run of Object.values(variants)) await run();
for (let i = 0; i < RUNS; i++) {
  for (const [name, run] of Object.entries(variants)) {
    collectYoungGarbage();
    const t0 = performance.now();
    await run();
    (times[name] ??= []).push(performance.now() - t0);
  }
}
const mmMs = median(times["matMul 256×784 · 784×256"]);
const mmGflops = (2 * M * 784 * 256) / mmMs / 1e6;
const lines = [
  `Machine: ${os.cpus()[0]?.model ?? "cpu"}, ${os.cpus().length} cores; Node ${process.version}; tfjs-backend-wasm (SIMD, one thread). Run ${new Date().toISOString().slice(0, 10)}, medians of ${RUNS} interleaved runs. Load average before: ${os.loadavg()[0].toFixed(2)}.`,
  "",
  `Reference MLP 784-256-128-10 (batch norm, dropout), ${M} examples; the step's matMul work is ${(flops / 1e6).toFixed(0)} MFLOP.`,
  "",
  "| variant | ms (median) | GFLOP/s | × matMul GFLOP/s |",
  "|---|---:|---:|---:|",
  `| matMul 256×784 · 784×256 | ${mmMs.toFixed(2)} | ${mmGflops.toFixed(1)} | 1 |`,
  ...Object.keys(variants).slice(1).map((name) => {
    const ms = median(times[name]);
    const g = flops / ms / 1e6;
    return `| ${name} | ${ms.toFixed(2)} | ${g.toFixed(1)} | ${(g / mmGflops).toFixed(2)} |`;
  }),
];
console.log(lines.join("\n"));
if (args.includes("--write")) writeSection("engine-step", lines);
