/**
 * Benchmark: where the milliseconds of one inner step of a local-step round go on a worker
 * (core/round.ts), for the scaling benchmark's replica: the reference MLP, 64 rows per inner
 * step (batch 256 over K = 4), chunks of 32, Adam, deterministic, H = 8. A round is computed
 * whole (computeRoundShard, what POST /v1/rounds runs after decoding) and its ms ÷ H is the
 * figure; beside it, each phase of a step on its own, with the same sizes: the parameters'
 * upload into tfjs, the engine (forward and backward on the backend, with its own upload and
 * read-back), reading gradients back, the dropout masks, the mean and penalty, the optimizer
 * (non-finite check, Adam, learning-rate scale), applying the updates, the batch-norm statistics.
 *
 * Run: node --expose-gc --import tsx bench/round-profile.ts [--write] [--rounds N]
 */
import os from "node:os";
import { computeGradients } from "../core/model/engine.ts";
import { updateRunningStats } from "../core/model/batch-norm.ts";
import { fillDropoutMask } from "../core/model/dropout.ts";
import { initBatchNormState, initParameters } from "../core/model/parameters.ts";
import { meanPlusPenalty } from "../core/model/regularization.ts";
import { parseModelSpec, planModel } from "../core/model/spec.ts";
import { adam, applyIfFinite, applyUpdates, descendInPlace } from "../core/optim/mod.ts";
import { computeRoundShard } from "../core/round.ts";
import { tf, useBackend } from "../core/tf.ts";
import { PROTOCOL, type RoundRequestInput } from "../core/wire/messages.ts";
import { wireFloat32, wireFloat64, wireInt32, wireTensors } from "../core/wire/tensor.ts";
import { collectYoungGarbage, median, REFERENCE_MLP, referenceBatch } from "./reference.ts";
import { writeSection } from "./results.ts";

const ROWS = 64, CHUNK = 32, H = 8, REPLICAS = 4;
const argRounds = process.argv.indexOf("--rounds");
const ROUNDS = argRounds > 0 ? Number(process.argv[argRounds + 1]) : 15;

await useBackend("wasm");
const plan = planModel(parseModelSpec(REFERENCE_MLP));
const params = initParameters(plan, 1);
const batchNorm = initBatchNormState(plan);
const batch = referenceBatch(ROWS * H, 3);

const request: RoundRequestInput = {
  protocol: PROTOCOL,
  model: plan.spec,
  parameters: wireTensors(plan.parameters, params),
  batchNorm: wireTensors(plan.batchNormState, batchNorm),
  optimizer: { type: "adam", learningRate: 1e-3 },
  inputs: wireFloat32(batch.inputs, [ROWS * H, 784]),
  labels: wireInt32(batch.labels as Int32Array, [ROWS * H]),
  indices: wireInt32(batch.indices as Int32Array, [ROWS * H]),
  stepExamples: wireInt32(new Int32Array(H).fill(ROWS), [H]),
  learningRates: wireFloat64(new Float64Array(H).fill(1e-3), [H]),
  penaltyExamples: wireInt32(new Int32Array(H).fill(ROWS * REPLICAS), [H]),
  step: 100,
  seed: 7,
  chunkSize: CHUNK,
  deterministic: true,
};

async function time(run: () => unknown | Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await run();
  return performance.now() - t0;
}

/** A phase: `run` on what `setup` made (not timed). */
interface Phase<T = unknown> {
  readonly setup?: () => T;
  readonly run: (input: T) => unknown | Promise<unknown>;
}

const step = { inputs: batch.inputs.subarray(0, ROWS * 784), labels: (batch.labels as Int32Array).subarray(0, ROWS), indices: (batch.indices as Int32Array).subarray(0, ROWS) };
const options = { step: 100, seed: 7, chunkSize: CHUNK, exactChunks: true };
const opt = applyIfFinite(adam({ learningRate: 1e-3 }));
const optState = opt.init(params);
const direction = adam({ learningRate: 1e-3 }).direction;
const copy = (x: Record<string, Float32Array>) => Object.fromEntries(Object.entries(x).map(([k, v]) => [k, v.slice()]));
/** A state of the in-place step's own (it overwrites the moments). */
const ownState = () => ({ ...direction.init(params), step: 0, learningRate: 0 });

type Tensors = ReturnType<typeof gradients>;
const phases: Record<string, Phase> = {
  "upload parameters": { run: () => tf.dispose(plan.parameters.map((p) => tf.tensor(params[p.name], p.shape as number[], "float32"))) },
  "engine (whole computeGradients)": { run: () => computeGradients(plan, params, step, options) },
  "read gradients back": {
    setup: () => plan.parameters.map((p) => tf.add(tf.zeros(p.shape as number[]), 1)),
    run: async (ts) => {
      for (const t of ts as ReturnType<typeof tf.zeros>[]) await t.data();
      tf.dispose(ts as ReturnType<typeof tf.zeros>[]);
    },
  },
  "dropout masks": {
    run: () => plan.spec.layers.forEach((l, i) => {
      if (l.type === "dropout") fillDropoutMask(new Float32Array(ROWS * plan.widths[i]), { seed: 7, step: 100, layer: i }, step.indices, plan.widths[i], l.keepProb);
    }),
  },
  "mean + penalty": { setup: gradients, run: (g) => meanPlusPenalty(plan, g as Tensors, params, {}, ROWS, ROWS * REPLICAS) },
  "optimizer (finite check, Adam, scale)": { setup: gradients, run: (g) => opt.update(g as Tensors, optState, params) },
  "apply updates": { setup: gradients, run: (g) => applyUpdates(params, g as Tensors) },
  // What core/round.ts runs without a penalty: the three rows above in one pass over its own
  // arrays (same bits). Fresh arrays each time here, so this row includes their first touch.
  "descendInPlace (mean, finite check, Adam, scale, apply)": {
    setup: () => ({ g: gradients(), s: ownState(), p: copy(params) }),
    run: (x) => {
      const { g, s, p } = x as { g: Tensors; s: ReturnType<typeof ownState>; p: Tensors };
      return descendInPlace(direction, g, ROWS, s, 1e-3, p);
    },
  },
  "batch-norm statistics": { run: () => updateRunningStats(plan, batchNorm, moments) },
};

const grads = (await computeGradients(plan, params, step, options));
const moments = grads.batchNorm;
/** A fresh copy of one step's gradients (meanPlusPenalty works in place). */
function gradients() {
  return copy(grads.gradients!);
}

// Warm-up, then interleaved rounds.
await computeRoundShard(request);
for (const phase of Object.values(phases)) await phase.run(phase.setup?.());
const perStep: number[] = [];
const samples: Record<string, number[]> = Object.fromEntries(Object.keys(phases).map((k) => [k, []]));
for (let r = 0; r < ROUNDS; r++) {
  collectYoungGarbage();
  perStep.push((await time(() => computeRoundShard(request))) / H);
  for (const [name, phase] of Object.entries(phases)) {
    let ms = 0;
    for (let h = 0; h < H; h++) {
      const input = phase.setup?.();
      ms += await time(() => phase.run(input));
    }
    samples[name].push(ms / H);
  }
}
const lines = [
  `Run ${new Date().toISOString().slice(0, 10)} on ${os.cpus()[0]?.model ?? "cpu"}, ${os.cpus().length} cores; Node ${process.version}, wasm backend; load average ${os.loadavg()[0].toFixed(2)} at the end.`,
  "",
  `One replica's round: reference MLP, ${ROWS} rows per inner step (batch ${ROWS * REPLICAS} over K = ${REPLICAS}), chunks of ${CHUNK}, Adam, deterministic, H = ${H}; ` +
    `medians over ${ROUNDS} rounds, phases timed on their own beside each round (the engine includes its own upload and read-back).`,
  "",
  "| per inner step | ms |",
  "|---|---:|",
  `| **round ÷ H (computeRoundShard)** | **${median(perStep).toFixed(2)}** |`,
  ...Object.keys(phases).map((name) => `| ${name} | ${median(samples[name]).toFixed(2)} |`),
  "",
];
console.log(lines.join("\n"));
if (process.argv.includes("--write")) writeSection("round-profile", lines);
