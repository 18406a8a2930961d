/**
 * Batch-norm statistics across chunks (ghost batch norm, DESIGN.md).
 *
 * In training, every chunk of `chunkSize` examples is normalized with its own mean and biased
 * variance σ² = (1/n)·Σ(z − μ)² (the course's convention). A worker reports each chunk's moments
 * (count n, mean μ, M2 = Σ(z − μ)²); the coordinator merges them exactly into the statistics of the
 * whole mini-batch with the parallel formula of Chan, Golub and LeVeque,
 *   n = nₐ + n_b,  δ = μ_b − μₐ,  μ = μₐ + δ·n_b/n,  M2 = M2ₐ + M2_b + δ²·nₐ·n_b/n,
 * in float64 and in canonical tree order, and updates the running statistics used at test time as
 * an exponentially weighted average of the per-batch statistics:
 *   mean ← momentum·mean + (1 − momentum)·μ,  variance ← momentum·variance + (1 − momentum)·M2/n.
 * The running variance is the biased batch variance M2/n (not M2/(n − 1) as PyTorch uses).
 */
import { treeReduce } from "../reduce-tree.ts";
import type { NamedArrays } from "./parameters.ts";
import type { ModelPlan } from "./spec.ts";

/** Moments of each chunk for one batch-norm layer: count [C], mean and M2 row-major [C, units]. */
export interface ChunkMoments {
  readonly count: Int32Array;
  readonly mean: Float32Array;
  readonly m2: Float32Array;
}

/** Moments of a set of examples in float64. */
export interface Moments {
  readonly count: number;
  readonly mean: Float64Array;
  readonly m2: Float64Array;
}

/** Merges two sets of moments exactly (Chan et al.); `a` comes first in the canonical order. */
export function mergeMoments(a: Moments, b: Moments): Moments {
  const n = a.count + b.count;
  const mean = new Float64Array(a.mean.length);
  const m2 = new Float64Array(a.mean.length);
  for (let u = 0; u < mean.length; u++) {
    const delta = b.mean[u] - a.mean[u];
    mean[u] = a.mean[u] + (delta * b.count) / n;
    m2[u] = a.m2[u] + b.m2[u] + (delta * delta * a.count * b.count) / n;
  }
  return { count: n, mean, m2 };
}

/** The moments of chunk `c` of `chunks` as float64. */
export function chunkMoments(chunks: ChunkMoments, c: number): Moments {
  const units = chunks.mean.length / chunks.count.length;
  return {
    count: chunks.count[c],
    mean: Float64Array.from(chunks.mean.subarray(c * units, (c + 1) * units)),
    m2: Float64Array.from(chunks.m2.subarray(c * units, (c + 1) * units)),
  };
}

/** Merges the chunks of one layer in canonical tree order into the moments of the whole batch. */
export function mergeChunkMoments(chunks: ChunkMoments): Moments {
  return treeReduce(chunks.count.length, (c) => chunkMoments(chunks, c), mergeMoments);
}

/**
 * Concatenates the chunk moments of consecutive shards (in chunk order) into one record, so the
 * merge can run over the whole batch.
 */
export function concatChunkMoments(parts: readonly ChunkMoments[]): ChunkMoments {
  const total = parts.reduce((s, p) => s + p.count.length, 0);
  const units = parts.length ? parts[0].mean.length / parts[0].count.length : 0;
  const count = new Int32Array(total);
  const mean = new Float32Array(total * units);
  const m2 = new Float32Array(total * units);
  let c = 0;
  for (const p of parts) {
    count.set(p.count, c);
    mean.set(p.mean, c * units);
    m2.set(p.m2, c * units);
    c += p.count.length;
  }
  return { count, mean, m2 };
}

/**
 * New running statistics after one training batch (pure): for every batch-norm layer of the plan,
 * the chunk moments `moments[batchnorm{i}]` are merged and folded into the running averages.
 */
export function updateRunningStats(
  plan: ModelPlan,
  state: NamedArrays,
  moments: Readonly<Record<string, ChunkMoments>>,
): NamedArrays {
  const next: NamedArrays = { ...state };
  plan.spec.layers.forEach((layer, i) => {
    if (layer.type !== "batchnorm") return;
    const name = `batchnorm${i}`;
    const chunks = moments[name];
    if (!chunks) throw new TypeError(`Cannot update batch norm: no chunk moments for '${name}'`);
    const batch = mergeChunkMoments(chunks);
    const oldMean = state[`${name}.mean`], oldVar = state[`${name}.variance`];
    const mean = new Float32Array(oldMean.length);
    const variance = new Float32Array(oldVar.length);
    const m = layer.momentum;
    for (let u = 0; u < mean.length; u++) {
      mean[u] = m * oldMean[u] + (1 - m) * batch.mean[u];
      variance[u] = m * oldVar[u] + (1 - m) * (batch.m2[u] / batch.count);
    }
    next[`${name}.mean`] = mean;
    next[`${name}.variance`] = variance;
  });
  return next;
}
