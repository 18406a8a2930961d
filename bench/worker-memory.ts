/**
 * Peak memory of one gradient request on a real worker process, as a function of the model's
 * size (parameters P), the shard's activations (A = examples × (input features + Σ layer widths),
 * what limits.maxActivations counts) and its per-chunk gradients (G = chunks × P,
 * limits.maxChunkGradients). Each configuration runs in a fresh worker (Deno, and workerd through
 * the repository's serve.mjs/miniflare) that answers the same signed deterministic request twice;
 * its peak is the process's VmHWM (/proc/<pid>/status). For workerd the isolate's own heap cannot
 * be read from outside, so its figure is the workerd process's VmHWM less that of a workerd
 * serving a one-line worker (tests/runtimes/process-memory.ts): an upper bound on the isolate. A
 * least-squares fit bytes ≈ a + b·P + c·A + d·G per runtime gives the coefficients from which
 * edge-functions/worker-limits.ts derives the workerd limits.
 *
 * Run: node --import tsx bench/worker-memory.ts [--runtimes deno,workerd] [--write]
 */
import { initParameters } from "../core/model/parameters.ts";
import { parseModelSpec, planModel, type ModelPlan } from "../core/model/spec.ts";
import { encode } from "../core/wire/codec.ts";
import { randomBatch } from "../tests/helpers/batches.ts";
import { gradientsRequest } from "../tests/helpers/wire-fixtures.ts";
import { signedRequest } from "../tests/helpers/worker-client.ts";
import { startWorker, type WorkerRuntime } from "../tests/helpers/worker-process.ts";
import { trivialWorkerdHwm, vmField, workerdPid } from "../tests/runtimes/process-memory.ts";
import { writeSection } from "./results.ts";

const args = process.argv.slice(2);
const runtimeArg = args[args.indexOf("--runtimes") + 1];
const runtimes = (args.includes("--runtimes") ? runtimeArg.split(",") : ["deno", "workerd"]) as WorkerRuntime[];
const SECRET = "worker-memory-bench-0123456789";
const MiB = 1024 * 1024;

interface Config {
  readonly input: number;
  readonly hidden: readonly number[];
  readonly examples: number;
  readonly chunkSize: number;
}

/** Sweeps of P (small shard), of A (small model) and of G (many chunks), plus mixed points. */
const CONFIGS: readonly Config[] = [
  { input: 64, hidden: [64], examples: 32, chunkSize: 32 },
  { input: 784, hidden: [256], examples: 64, chunkSize: 64 },
  { input: 784, hidden: [1024], examples: 64, chunkSize: 64 },
  { input: 784, hidden: [2048], examples: 64, chunkSize: 64 },
  { input: 784, hidden: [2048, 1024], examples: 64, chunkSize: 64 },
  { input: 1024, hidden: [2048, 2048], examples: 64, chunkSize: 64 },
  { input: 256, hidden: [256], examples: 1024, chunkSize: 1024 },
  { input: 256, hidden: [256], examples: 4096, chunkSize: 4096 },
  { input: 512, hidden: [512], examples: 4096, chunkSize: 4096 },
  { input: 1024, hidden: [1024], examples: 4096, chunkSize: 4096 },
  { input: 784, hidden: [256], examples: 1024, chunkSize: 64 },
  { input: 784, hidden: [256], examples: 1024, chunkSize: 16 },
  { input: 784, hidden: [1024], examples: 512, chunkSize: 32 },
  { input: 784, hidden: [1024], examples: 1024, chunkSize: 256 },
];

function specOf(c: Config) {
  const layers: Record<string, unknown>[] = [];
  for (const units of c.hidden) layers.push({ type: "dense", units }, { type: "relu" });
  layers.push({ type: "dense", units: 10 });
  return { input: [c.input], layers, output: "softmax" };
}

interface Size {
  readonly parameters: number;
  readonly activations: number;
  readonly chunkGradients: number;
  readonly bodyBytes: number;
}

function sizeOf(plan: ModelPlan, c: Config, bodyBytes: number): Size {
  return {
    parameters: plan.parameterCount,
    activations: c.examples * (plan.inputSize + plan.widths.reduce((a, b) => a + b, 0)),
    chunkGradients: Math.ceil(c.examples / c.chunkSize) * plan.parameterCount,
    bodyBytes,
  };
}

/** A signed deterministic gradients request body for `c` (the coordinator's worst case: per-chunk gradients). */
function requestBody(c: Config): { body: Uint8Array; size: Size } {
  const spec = specOf(c);
  const limits = { maxUnits: 1 << 20, maxLayers: 64, maxParameters: 1 << 28, maxInputFeatures: 1 << 20 };
  const plan = planModel(parseModelSpec(spec, { limits }), { limits });
  const chunks = Math.ceil(c.examples / c.chunkSize);
  const message = gradientsRequest(plan, spec, initParameters(plan, 1), randomBatch(plan, c.examples, 2), {
    chunkSize: c.chunkSize, step: 0, seed: 3, firstChunk: 0, totalChunks: chunks,
  });
  const body = encode(message).slice();
  return { body, size: sizeOf(plan, c, body.length) };
}

/** Limits far above every configuration, so that the bench measures memory rather than refusals. */
const UNLIMITED: Record<string, string> = {
  EDGEPROP_MAX_BODY_BYTES: String(512 * MiB),
  EDGEPROP_MAX_EXAMPLES: String(1 << 20),
  EDGEPROP_MAX_ACTIVATIONS: String(1 << 28),
  EDGEPROP_MAX_CHUNK_GRADIENTS: String(1 << 28),
  EDGEPROP_MAX_PARAMETERS: String(1 << 28),
  EDGEPROP_MAX_UNITS: String(1 << 20),
};

interface Sample extends Size {
  readonly runtime: WorkerRuntime;
  readonly label: string;
  /** VmHWM once healthy, before any gradient request. */
  readonly idleBytes: number;
  /** VmHWM after the two requests. */
  readonly peakBytes: number;
  /** VmRSS after them: what the process keeps once the requests are over. */
  readonly afterBytes: number;
  /** What is fitted: peakBytes, less a one-line workerd's VmHWM for workerd. */
  readonly fittedBytes: number;
}

async function measure(runtime: WorkerRuntime, c: Config, base: number): Promise<Sample> {
  const { body, size } = requestBody(c);
  const worker = await startWorker(runtime, { secret: SECRET, env: UNLIMITED, timeoutMs: 60_000 });
  try {
    const pid = runtime === "workerd" ? workerdPid(worker.child.pid!) : worker.child.pid!;
    const idleBytes = vmField(pid, "VmHWM");
    for (let i = 0; i < 2; i++) {
      const response = await fetch(await signedRequest(worker.url, "/v1/gradients", body, { secret: SECRET }));
      const reply = await response.arrayBuffer();
      if (!response.ok) throw new Error(`${runtime} answered ${response.status}: ${new TextDecoder().decode(reply).slice(0, 300)}`);
    }
    const label = `${c.input}-${c.hidden.join("-")}-10, ${c.examples} ex / chunks of ${c.chunkSize}`;
    const peakBytes = vmField(pid, "VmHWM");
    return { runtime, label, ...size, idleBytes, peakBytes, afterBytes: vmField(pid, "VmRSS"), fittedBytes: peakBytes - base };
  } finally {
    await worker.stop();
  }
}

/** Least squares for y ≈ X·β (normal equations, Gaussian elimination with partial pivoting). */
function leastSquares(rows: readonly (readonly number[])[], y: readonly number[]): number[] {
  const k = rows[0].length;
  const m = Array.from({ length: k }, (_, i) => Array.from({ length: k + 1 }, (_, j) => {
    let s = 0;
    for (let r = 0; r < rows.length; r++) s += rows[r][i] * (j === k ? y[r] : rows[r][j]);
    return s;
  }));
  for (let col = 0; col < k; col++) {
    let pivot = col;
    for (let r = col + 1; r < k; r++) if (Math.abs(m[r][col]) > Math.abs(m[pivot][col])) pivot = r;
    [m[col], m[pivot]] = [m[pivot], m[col]];
    for (let r = 0; r < k; r++) {
      if (r === col) continue;
      const f = m[r][col] / m[col][col];
      for (let j = col; j <= k; j++) m[r][j] -= f * m[col][j];
    }
  }
  return m.map((row, i) => row[k] / row[i]);
}

const samples: Sample[] = [];
const trivial = runtimes.includes("workerd") ? await trivialWorkerdHwm() : 0;
for (const runtime of runtimes) {
  for (const c of CONFIGS) {
    const s = await measure(runtime, c, runtime === "workerd" ? trivial : 0);
    samples.push(s);
    console.log(`${runtime.padEnd(8)} ${s.label.padEnd(44)} P=${s.parameters} A=${s.activations} G=${s.chunkGradients} body=${(s.bodyBytes / MiB).toFixed(1)} MiB idle=${(s.idleBytes / MiB).toFixed(1)} peak=${(s.peakBytes / MiB).toFixed(1)} after=${(s.afterBytes / MiB).toFixed(1)} fitted=${(s.fittedBytes / MiB).toFixed(1)} MiB`);
  }
}

const lines = [
  `Peak memory of one signed deterministic /v1/gradients request (sent twice) on a fresh worker process,`,
  `measured ${new Date().toISOString().slice(0, 10)}. Peak: VmHWM of /proc/<pid>/status; after: VmRSS once the requests are over.`,
  `Fitted: the peak, less for workerd the VmHWM of a workerd serving a one-line worker (${(trivial / MiB).toFixed(1)} MiB): what the`,
  "edgeprop isolate added, an upper bound on it (its heap is not visible from outside).",
  "P: parameters; A: activations, examples × (input + Σ layer widths); G: per-chunk gradient values, chunks × P.",
  "",
  "| runtime | model, shard | P | A | G | body MiB | idle MiB | peak MiB | after MiB | fitted MiB |",
  "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
  ...samples.map((s) => `| ${s.runtime} | ${s.label} | ${s.parameters} | ${s.activations} | ${s.chunkGradients} | ${(s.bodyBytes / MiB).toFixed(1)} | ${(s.idleBytes / MiB).toFixed(1)} | ${(s.peakBytes / MiB).toFixed(1)} | ${(s.afterBytes / MiB).toFixed(1)} | ${(s.fittedBytes / MiB).toFixed(1)} |`),
  "",
  "Fit, fitted bytes ≈ a + b·P + c·A + d·G (least squares over the rows of each runtime):",
  "",
  "| runtime | a MiB | b bytes/param | c bytes/activation | d bytes/chunk-gradient value | worst residual MiB |",
  "|---|---:|---:|---:|---:|---:|",
];
for (const runtime of runtimes) {
  const rows = samples.filter((s) => s.runtime === runtime);
  const beta = leastSquares(rows.map((s) => [1, s.parameters, s.activations, s.chunkGradients]), rows.map((s) => s.fittedBytes));
  const worst = Math.max(...rows.map((s) => Math.abs(s.fittedBytes - (beta[0] + beta[1] * s.parameters + beta[2] * s.activations + beta[3] * s.chunkGradients))));
  const line = `| ${runtime} | ${(beta[0] / MiB).toFixed(1)} | ${beta[1].toFixed(1)} | ${beta[2].toFixed(1)} | ${beta[3].toFixed(1)} | ${(worst / MiB).toFixed(1)} |`;
  lines.push(line);
  console.log(line);
}
if (args.includes("--write")) writeSection("worker-memory", lines);
