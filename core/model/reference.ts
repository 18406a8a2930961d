/**
 * A float64 reference forward pass in plain TypeScript (no tfjs), implementing every layer, loss
 * and batch-norm/dropout rule of the engine independently: per-chunk batch norm with the biased
 * variance, the same counter-based dropout masks, numerically stable losses. It is the numerical
 * side of gradient checking and the oracle of the tests; it is written for clarity, not speed.
 */
import { fillDropoutMask } from "./dropout.ts";
import type { Batch } from "./engine.ts";
import type { Regularization } from "./regularization.ts";
import type { ModelPlan } from "./spec.ts";

/** Parameters or statistics in any float precision. */
export type NamedFloatArrays = Record<string, Float32Array | Float64Array>;

export type ReferenceMode =
  | { readonly mode: "train"; readonly step: number; readonly seed: number; readonly chunkSize: number }
  | { readonly mode: "eval"; readonly batchNormState: NamedFloatArrays };

export interface ReferenceResult {
  /** Σ of per-example losses. */
  readonly lossSum: number;
  /** J = lossSum/m + penalty. */
  readonly cost: number;
  /** Row-major [m, K] outputs (probabilities for softmax/sigmoid, values for linear). */
  readonly outputs: Float64Array;
  /** Per-example losses. */
  readonly losses: Float64Array;
}

/** Rows [r0, r1) of a row-major matrix with `cols` columns through a dense layer. */
function dense(a: Float64Array, rows: number, nIn: number, W: ArrayLike<number>, b: ArrayLike<number> | undefined, nOut: number): Float64Array {
  const z = new Float64Array(rows * nOut);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < nOut; j++) {
      let s = b ? b[j] : 0;
      for (let k = 0; k < nIn; k++) s += a[r * nIn + k] * W[k * nOut + j];
      z[r * nOut + j] = s;
    }
  }
  return z;
}

/** The cost of `batch` under the model, in float64: J = (1/m)·ΣL + penalty. */
export function referenceCost(
  plan: ModelPlan,
  params: NamedFloatArrays,
  batch: Batch,
  mode: ReferenceMode,
  reg: Regularization = {},
): ReferenceResult {
  const n = plan.inputSize;
  const m = batch.inputs.length / n;
  const K = plan.outputs;
  // Training normalizes each chunk on its own; inference has no coupling, one "chunk" will do.
  const chunkSize = mode.mode === "train" ? mode.chunkSize : m;
  const outputs = new Float64Array(m * K);
  const losses = new Float64Array(m);
  for (let start = 0; start < m; start += chunkSize) {
    const rows = Math.min(chunkSize, m - start);
    let a: Float64Array = Float64Array.from(batch.inputs.subarray(start * n, (start + rows) * n));
    let width = n;
    plan.spec.layers.forEach((layer, i) => {
      switch (layer.type) {
        case "dense":
          a = dense(a, rows, width, params[`dense${i}.W`], params[`dense${i}.b`], layer.units);
          width = layer.units;
          break;
        case "batchnorm": {
          const gamma = params[`batchnorm${i}.gamma`], beta = params[`batchnorm${i}.beta`];
          for (let u = 0; u < width; u++) {
            let mean: number, variance: number;
            if (mode.mode === "train") {
              mean = 0;
              for (let r = 0; r < rows; r++) mean += a[r * width + u];
              mean /= rows;
              variance = 0;
              for (let r = 0; r < rows; r++) variance += (a[r * width + u] - mean) ** 2;
              variance /= rows;
            } else {
              mean = mode.batchNormState[`batchnorm${i}.mean`][u];
              variance = mode.batchNormState[`batchnorm${i}.variance`][u];
            }
            const inv = 1 / Math.sqrt(variance + layer.epsilon);
            for (let r = 0; r < rows; r++) a[r * width + u] = gamma[u] * (a[r * width + u] - mean) * inv + beta[u];
          }
          break;
        }
        case "dropout": {
          if (mode.mode !== "train" || layer.keepProb === 1) break;
          const idx = Array.from({ length: rows }, (_, r) => batch.indices[start + r]);
          const mask = fillDropoutMask(new Float64Array(rows * width), { seed: mode.seed, step: mode.step, layer: i }, idx, width, layer.keepProb);
          for (let j = 0; j < a.length; j++) a[j] *= mask[j];
          break;
        }
        case "relu":
          for (let j = 0; j < a.length; j++) a[j] = a[j] > 0 ? a[j] : 0;
          break;
        case "leakyRelu": {
          const alpha = layer.alpha ?? 0.01;
          for (let j = 0; j < a.length; j++) a[j] = a[j] > 0 ? a[j] : alpha * a[j];
          break;
        }
        case "tanh":
          for (let j = 0; j < a.length; j++) a[j] = Math.tanh(a[j]);
          break;
        case "sigmoid":
          for (let j = 0; j < a.length; j++) a[j] = 1 / (1 + Math.exp(-a[j]));
          break;
        case "linear":
          break;
      }
    });
    for (let r = 0; r < rows; r++) {
      const z = a.subarray(r * K, r * K + K);
      const row = start + r;
      let loss: number;
      if (plan.spec.output === "softmax") {
        const max = Math.max(...z);
        let sum = 0;
        for (let k = 0; k < K; k++) sum += Math.exp(z[k] - max);
        const logSum = max + Math.log(sum);
        for (let k = 0; k < K; k++) outputs[row * K + k] = Math.exp(z[k] - logSum);
        loss = logSum - z[batch.labels[row]];
      } else if (plan.spec.output === "sigmoid") {
        const y = batch.labels[row];
        loss = Math.max(z[0], 0) - z[0] * y + Math.log1p(Math.exp(-Math.abs(z[0])));
        outputs[row] = 1 / (1 + Math.exp(-z[0]));
      } else {
        loss = 0;
        for (let k = 0; k < K; k++) {
          loss += (z[k] - batch.labels[row * K + k]) ** 2;
          outputs[row * K + k] = z[k];
        }
        loss /= K;
      }
      losses[row] = loss;
    }
  }
  let lossSum = 0;
  for (const l of losses) lossSum += l;
  let penalty = 0;
  const l2 = reg.l2 ?? 0, l1 = reg.l1 ?? 0;
  for (const p of plan.parameters) {
    if (!p.isWeight) continue;
    for (const w of params[p.name]) penalty += (l2 / (2 * m)) * w * w + (l1 / (2 * m)) * Math.abs(w);
  }
  return { lossSum, cost: lossSum / m + penalty, outputs, losses };
}
