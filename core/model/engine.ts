/**
 * Forward and backward passes with tfjs-core on the active backend (written out by hand rather
 * than with tf.grad, so that every reduction over examples stays inside one chunk).
 *
 * A batch of m examples is cut into chunks of `chunkSize` (the last one may be smaller). Full
 * chunks are processed together as a [C, chunkSize, n] tensor and the partial chunk on its own;
 * every quantity summed over examples (weight gradients, losses, batch-norm moments and the
 * gradients through batch norm) is computed per chunk, so a chunk's numbers do not depend on which
 * other chunks share the call. Per-chunk gradients are then summed in canonical tree order
 * (core/reduce-tree.ts). This is what makes training bitwise independent of the number of workers.
 *
 * Losses per example (z = logits of the last dense layer, K outputs):
 * - softmax: L = logΣₖexp(zₖ) − z_y, dL/dz = softmax(z) − onehot(y);
 * - sigmoid: L = max(z, 0) − z·y + log(1 + e^(−|z|)), dL/dz = σ(z) − y;
 * - linear:  L = (1/K)·Σₖ(zₖ − yₖ)², dL/dz = (2/K)·(z − y).
 * Results are sums over examples; dividing by the batch size and adding the regularization penalty
 * is the caller's job (the coordinator does it centrally, see regularization.ts).
 */
import { tf } from "../tf.ts";
import { addFloat32, type Block, combineBlocks, treeReduce } from "../reduce-tree.ts";
import { firstNonFinite } from "../validate.ts";
import type { ChunkMoments } from "./batch-norm.ts";
import { fillDropoutMask } from "./dropout.ts";
import { checkTensors, type NamedArrays } from "./parameters.ts";
import type { ModelPlan } from "./spec.ts";

type Tensor = InstanceType<typeof tf.Tensor>;

/** A shard of examples. */
export interface Batch {
  /** Row-major [m, inputSize]. */
  readonly inputs: Float32Array;
  /** Class indices [m] (softmax: 0..K−1, sigmoid: 0 or 1), or row-major targets [m, K] (linear). */
  readonly labels: Int32Array | Float32Array;
  /** Global example index of each row: the key of its dropout masks. */
  readonly indices: ArrayLike<number>;
}

export interface TrainOptions {
  readonly step: number;
  readonly seed: number;
  readonly chunkSize: number;
  /**
   * Chunk ranges of this call (0-based) whose gradient sums to return, each summed in its own
   * canonical tree: a worker passes the aligned blocks of the global tree it holds. Default: one
   * block over all chunks.
   */
  readonly blocks?: readonly Block[];
  /**
   * Compute every chunk's gradient on its own (default true), the condition for sums that do not
   * depend on the sharding. With false, weight gradients come from one matMul over the whole shard
   * (about twice as fast at chunks of 32); batch norm still normalizes each chunk. Needs the
   * default single block.
   */
  readonly exactChunks?: boolean;
}

/** Per-chunk scalars, in chunk order. */
export interface ChunkStats {
  readonly count: Int32Array;
  /** Sum of the per-example losses of each chunk. */
  readonly loss: Float64Array;
  readonly correct: Int32Array;
}

export interface GradientResult {
  readonly count: number;
  /** Σ of per-example losses, chunk sums combined in canonical tree order. */
  readonly lossSum: number;
  /** Examples whose prediction is right (always 0 for a linear output). */
  readonly correct: number;
  readonly chunks: ChunkStats;
  /**
   * Gradient sums of every parameter over this call's chunks, in canonical tree order. Absent when
   * explicit `blocks` were asked for: they need not be nodes of this call's own tree.
   */
  readonly gradients?: NamedArrays;
  /** Gradient sums of each requested block. */
  readonly blocks: readonly { readonly start: number; readonly count: number; readonly gradients: NamedArrays }[];
  /** Chunk moments of every batch-norm layer (`batchnorm{i}`), before normalization. */
  readonly batchNorm: Record<string, ChunkMoments>;
}

export interface EvaluateOptions {
  readonly chunkSize: number;
  /** Also return the model outputs (probabilities for softmax/sigmoid, values for linear). */
  readonly outputs?: boolean;
}

export interface EvaluateResult {
  readonly count: number;
  readonly lossSum: number;
  readonly correct: number;
  readonly chunks: ChunkStats;
  /** Row-major [m, K] when asked for. */
  readonly outputs?: Float32Array;
}

interface Group {
  /** First row of the group in the batch. */
  readonly row: number;
  readonly chunks: number;
  readonly size: number;
}

function groupsOf(m: number, chunkSize: number): Group[] {
  const full = Math.floor(m / chunkSize);
  const groups: Group[] = [];
  if (full > 0) groups.push({ row: 0, chunks: full, size: chunkSize });
  if (m % chunkSize > 0) groups.push({ row: full * chunkSize, chunks: 1, size: m % chunkSize });
  return groups;
}

function checkBatch(plan: ModelPlan, batch: Batch, chunkSize: number): number {
  if (!Number.isInteger(chunkSize) || chunkSize < 1) {
    throw new RangeError(`Cannot run model: 'chunkSize' must be an integer ≥ 1, current value is ${chunkSize}`);
  }
  const n = plan.inputSize;
  if (batch.inputs.length === 0 || batch.inputs.length % n !== 0) {
    throw new RangeError(
      `Cannot run model: 'inputs' must hold m × ${n} values with m ≥ 1, current length is ${batch.inputs.length}`,
    );
  }
  const m = batch.inputs.length / n;
  const bad = firstNonFinite(batch.inputs);
  if (bad >= 0) throw new RangeError(`Cannot run model: 'inputs[${bad}]' must be finite, current value is ${batch.inputs[bad]}`);
  if (batch.indices.length !== m) {
    throw new RangeError(`Cannot run model: 'indices' must have ${m} entries (one per example), current length is ${batch.indices.length}`);
  }
  const K = plan.outputs;
  const { labels } = batch;
  if (plan.spec.output === "linear") {
    if (!(labels instanceof Float32Array) || labels.length !== m * K) {
      throw new TypeError(`Cannot run model: 'labels' must be a Float32Array of ${m} × ${K} targets for a linear output`);
    }
    const i = firstNonFinite(labels);
    if (i >= 0) throw new RangeError(`Cannot run model: 'labels[${i}]' must be finite, current value is ${labels[i]}`);
  } else {
    const classes = plan.spec.output === "sigmoid" ? 2 : K;
    if (!(labels instanceof Int32Array) || labels.length !== m) {
      throw new TypeError(`Cannot run model: 'labels' must be an Int32Array of ${m} class indices`);
    }
    for (let i = 0; i < m; i++) {
      if (labels[i] < 0 || labels[i] >= classes) {
        throw new RangeError(`Cannot run model: 'labels[${i}]' must be a class index in [0, ${classes - 1}], current value is ${labels[i]}`);
      }
    }
  }
  return m;
}

function toTensors(plan: ModelPlan, params: NamedArrays, state?: NamedArrays): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const p of plan.parameters) out.set(p.name, tf.tensor(params[p.name], p.shape as number[], "float32"));
  if (state) {
    for (const s of plan.batchNormState) out.set(s.name, tf.tensor(state[s.name], s.shape as number[], "float32"));
  }
  return out;
}

/**
 * Per row of `outputs` [C, S, K], whether it holds no NaN: a NaN row has no predicted class and is
 * never correct (the rule of core/metrics.ts's predictedClass, here on tensors).
 */
function noNaN(outputs: Tensor): Tensor {
  return tf.all(tf.equal(outputs, outputs), -1);
}

/** Per-example loss [C, S] and dL/dz [C, S, K] (the latter only when `withGradient`). */
function lossAndGradient(
  plan: ModelPlan,
  z: Tensor,
  y: Tensor,
  withGradient: boolean,
): { loss: Tensor; correct: Tensor; dz?: Tensor; outputs: Tensor } {
  const K = plan.outputs;
  switch (plan.spec.output) {
    case "softmax": {
      const oneHot = tf.cast(tf.oneHot(y as never, K), "float32");
      const logProb = tf.logSoftmax(z, -1);
      const loss = tf.neg(tf.sum(tf.mul(oneHot, logProb), -1));
      const prob = tf.exp(logProb);
      const correct = tf.cast(tf.logicalAnd(tf.equal(tf.argMax(z, -1), y), noNaN(prob)), "int32");
      return { loss, correct, dz: withGradient ? tf.sub(prob, oneHot) : undefined, outputs: prob };
    }
    case "sigmoid": {
      const yf = tf.expandDims(tf.cast(y, "float32"), -1);
      const loss = tf.squeeze(
        tf.add(tf.sub(tf.relu(z), tf.mul(z, yf)), tf.log1p(tf.exp(tf.neg(tf.abs(z))))),
        [-1],
      );
      const prob = tf.sigmoid(z);
      const correct = tf.cast(tf.logicalAnd(tf.squeeze(tf.equal(tf.cast(tf.greater(z, 0), "float32"), yf), [-1]), noNaN(prob)), "int32");
      return { loss, correct, dz: withGradient ? tf.sub(prob, yf) : undefined, outputs: prob };
    }
    case "linear": {
      const diff = tf.sub(z, y);
      const loss = tf.div(tf.sum(tf.square(diff), -1), K);
      const correct = tf.zeros(loss.shape, "int32");
      return { loss, correct, dz: withGradient ? tf.mul(diff, 2 / K) : undefined, outputs: z };
    }
  }
}

interface LayerCache {
  input?: Tensor;
  output?: Tensor;
  mask?: Tensor;
  xhat?: Tensor;
  invStd?: Tensor;
}

/**
 * Forward pass of one group ([C, S, n] inputs) in training or inference mode. Returns the logits
 * and, per layer, what the backward pass needs. Must run inside a tidy.
 */
function forward(
  plan: ModelPlan,
  t: Map<string, Tensor>,
  x: Tensor,
  mode: { train: true; masks: Map<number, Tensor>; moments: Record<string, { mean: Tensor; m2: Tensor }> } | { train: false },
): { logits: Tensor; caches: LayerCache[] } {
  const [C, S] = x.shape;
  let a = x;
  const caches: LayerCache[] = [];
  plan.spec.layers.forEach((layer, i) => {
    const cache: LayerCache = { input: a };
    switch (layer.type) {
      case "dense": {
        const nIn = a.shape[2]!;
        let z = tf.matMul(tf.reshape(a, [C * S, nIn]), t.get(`dense${i}.W`)!);
        const b = t.get(`dense${i}.b`);
        if (b) z = tf.add(z, b);
        a = tf.reshape(z, [C, S, layer.units]);
        break;
      }
      case "batchnorm": {
        const gamma = t.get(`batchnorm${i}.gamma`)!, beta = t.get(`batchnorm${i}.beta`)!;
        if (mode.train) {
          const mean = tf.mean(a, 1, true);
          const centered = tf.sub(a, mean);
          const m2 = tf.sum(tf.square(centered), 1, true);
          const invStd = tf.rsqrt(tf.add(tf.div(m2, S), layer.epsilon));
          const xhat = tf.mul(centered, invStd);
          mode.moments[`batchnorm${i}`] = { mean: tf.squeeze(mean, [1]), m2: tf.squeeze(m2, [1]) };
          cache.xhat = xhat;
          cache.invStd = invStd;
          a = tf.add(tf.mul(xhat, gamma), beta);
        } else {
          const mean = t.get(`batchnorm${i}.mean`)!, variance = t.get(`batchnorm${i}.variance`)!;
          const invStd = tf.rsqrt(tf.add(variance, layer.epsilon));
          a = tf.add(tf.mul(tf.mul(tf.sub(a, mean), invStd), gamma), beta);
        }
        break;
      }
      case "dropout": {
        if (mode.train) {
          cache.mask = mode.masks.get(i)!;
          a = tf.mul(a, cache.mask);
        }
        break;
      }
      case "relu":
        a = tf.relu(a);
        break;
      case "leakyRelu":
        a = tf.leakyRelu(a, layer.alpha ?? 0.01);
        break;
      case "tanh":
        a = tf.tanh(a);
        break;
      case "sigmoid":
        a = tf.sigmoid(a);
        break;
      case "linear":
        break;
    }
    cache.output = a;
    caches.push(cache);
  });
  return { logits: a, caches };
}

/** Backward pass of one group from dL/dz of the logits: the gradients of each chunk, in order. */
function backward(
  plan: ModelPlan,
  t: Map<string, Tensor>,
  caches: LayerCache[],
  dLogits: Tensor,
  exact: boolean,
): Record<string, Tensor[]> {
  const grads: Record<string, Tensor[]> = {};
  let d = dLogits;
  for (let i = plan.spec.layers.length - 1; i >= 0; i--) {
    const layer = plan.spec.layers[i];
    const cache = caches[i];
    const [C, S] = d.shape;
    switch (layer.type) {
      case "dense": {
        const input = cache.input!;
        const nIn = input.shape[2]!;
        // Rank-2, untransposed matMuls only: tfjs-wasm sends those to XNNPACK (~20 GFLOP/s);
        // transposed or batched ones take a generic loop that is 10–20× slower.
        const x2 = tf.reshape(input, [C * S, nIn]);
        const dz2 = tf.reshape(d, [C * S, layer.units]);
        grads[`dense${i}.W`] = exact
          ? Array.from({ length: C }, (_, c) =>
            tf.matMul(tf.transpose(tf.slice(x2, [c * S, 0], [S, nIn])), tf.slice(dz2, [c * S, 0], [S, layer.units])))
          : [tf.matMul(tf.transpose(x2), dz2)];
        if (t.has(`dense${i}.b`)) grads[`dense${i}.b`] = perChunkSum(d, exact);
        if (i > 0) d = tf.reshape(tf.matMul(dz2, tf.transpose(t.get(`dense${i}.W`)!)), [C, S, nIn]);
        break;
      }
      case "batchnorm": {
        const xhat = cache.xhat!, invStd = cache.invStd!;
        grads[`batchnorm${i}.gamma`] = perChunkSum(tf.mul(d, xhat), exact);
        grads[`batchnorm${i}.beta`] = perChunkSum(d, exact);
        // dx = (invStd/S)·(S·dx̂ − Σdx̂ − x̂·Σ(dx̂·x̂)), sums over the chunk's examples.
        const dxhat = tf.mul(d, t.get(`batchnorm${i}.gamma`)!);
        const sumD = tf.sum(dxhat, 1, true);
        const sumDX = tf.sum(tf.mul(dxhat, xhat), 1, true);
        d = tf.mul(tf.div(invStd, S), tf.sub(tf.sub(tf.mul(dxhat, S), sumD), tf.mul(xhat, sumDX)));
        break;
      }
      case "dropout":
        if (cache.mask) d = tf.mul(d, cache.mask);
        break;
      case "relu":
        d = tf.mul(d, tf.step(cache.input!, 0));
        break;
      case "leakyRelu": {
        const alpha = layer.alpha ?? 0.01;
        d = tf.mul(d, tf.where(tf.greater(cache.input!, 0), tf.onesLike(d), tf.fill(d.shape, alpha)));
        break;
      }
      case "tanh":
        d = tf.mul(d, tf.sub(1, tf.square(cache.output!)));
        break;
      case "sigmoid": {
        const s = cache.output!;
        d = tf.mul(d, tf.mul(s, tf.sub(1, s)));
        break;
      }
      case "linear":
        break;
    }
  }
  return grads;
}

/** Sums over the examples of each chunk ([C, S, n] → C tensors [n]), or of the whole group (one tensor). */
function perChunkSum(x: Tensor, exact: boolean): Tensor[] {
  return exact ? tf.unstack(tf.sum(x, 1)) : [tf.sum(x, [0, 1])];
}

function labelTensor(plan: ModelPlan, labels: Int32Array | Float32Array, group: Group): Tensor {
  const K = plan.outputs;
  if (plan.spec.output === "linear") {
    const rows = labels.subarray(group.row * K, (group.row + group.chunks * group.size) * K);
    return tf.tensor3d(rows as Float32Array, [group.chunks, group.size, K], "float32");
  }
  const rows = labels.subarray(group.row, group.row + group.chunks * group.size);
  return tf.tensor2d(rows as Int32Array, [group.chunks, group.size], "int32");
}

function inputTensor(plan: ModelPlan, inputs: Float32Array, group: Group): Tensor {
  const n = plan.inputSize;
  const rows = inputs.subarray(group.row * n, (group.row + group.chunks * group.size) * n);
  return tf.tensor3d(rows, [group.chunks, group.size, n], "float32");
}

/** Reads a group's per-chunk loss sums ([C]) and per-example correct flags ([C, S]) into `into` at `chunk0`. */
async function readChunkStats(out: { loss: Tensor; correct: Tensor }, group: Group, chunk0: number, into: { count: Int32Array; loss: Float64Array; correct: Int32Array }): Promise<void> {
  const [loss, correct] = await Promise.all([out.loss.data(), out.correct.data()]);
  for (let c = 0; c < group.chunks; c++) {
    let right = 0;
    for (let j = 0; j < group.size; j++) right += correct[c * group.size + j];
    into.loss[chunk0 + c] = loss[c];
    into.count[chunk0 + c] = group.size;
    into.correct[chunk0 + c] = right;
  }
}

/**
 * Loss sum, gradient sums, correct count and batch-norm chunk moments of a shard in training mode
 * (dropout on, batch norm over each chunk). Gradients are summed per block of chunks
 * (`options.blocks`, default one block over the whole shard) in canonical tree order, on the
 * backend, so only the block sums are read back. All tensors it creates are disposed before it
 * returns.
 */
export async function computeGradients(
  plan: ModelPlan,
  params: NamedArrays,
  batch: Batch,
  options: TrainOptions,
): Promise<GradientResult> {
  const m = checkBatch(plan, batch, options.chunkSize);
  checkTensors(params, plan.parameters, "parameters");
  const groups = groupsOf(m, options.chunkSize);
  const totalChunks = groups.reduce((s, g) => s + g.chunks, 0);
  const blocks = options.blocks ?? [{ start: 0, count: totalChunks }];
  checkBlocks(blocks, totalChunks);
  const exact = options.exactChunks ?? true;
  if (!exact && (blocks.length !== 1 || blocks[0].count !== totalChunks)) {
    throw new RangeError("Cannot run model: 'blocks' need 'exactChunks' (per-chunk gradients)");
  }
  const moments: Record<string, ChunkMoments> = {};
  plan.spec.layers.forEach((l, i) => {
    if (l.type !== "batchnorm") return;
    const units = plan.widths[i];
    moments[`batchnorm${i}`] = {
      count: new Int32Array(totalChunks),
      mean: new Float32Array(totalChunks * units),
      m2: new Float32Array(totalChunks * units),
    };
  });
  const chunkLoss = new Float64Array(totalChunks);
  const chunkCorrect = new Int32Array(totalChunks);
  const chunkCount = new Int32Array(totalChunks);
  // Per-chunk gradient tensors of every parameter, in chunk order, kept on the backend.
  const chunkGrads: Record<string, Tensor[]> = {};
  for (const p of plan.parameters) chunkGrads[p.name] = [];
  const t = toTensors(plan, params);
  const blockSums: NamedArrays[] = blocks.map(() => ({}));
  try {
    let chunk0 = 0;
    for (const group of groups) {
      const out = tf.tidy(() => {
        const masks = new Map<number, Tensor>();
        plan.spec.layers.forEach((layer, i) => {
          if (layer.type !== "dropout" || layer.keepProb === 1) return;
          const units = plan.widths[i];
          const rows = group.chunks * group.size;
          const idx = Array.prototype.slice.call(batch.indices, group.row, group.row + rows) as number[];
          const mask = fillDropoutMask(new Float32Array(rows * units), { seed: options.seed, step: options.step, layer: i }, idx, units, layer.keepProb);
          masks.set(i, tf.tensor3d(mask as Float32Array, [group.chunks, group.size, units]));
        });
        const stats: Record<string, { mean: Tensor; m2: Tensor }> = {};
        const x = inputTensor(plan, batch.inputs, group);
        const y = labelTensor(plan, batch.labels, group);
        const { logits, caches } = forward(plan, t, x, { train: true, masks, moments: stats });
        const { loss, correct, dz } = lossAndGradient(plan, logits, y, true);
        const grads = backward(plan, t, caches, dz!, exact);
        return { loss: tf.sum(loss, 1), correct, grads, stats };
      });
      for (const p of plan.parameters) chunkGrads[p.name].push(...out.grads[p.name]);
      try {
        await readChunkStats(out, group, chunk0, { count: chunkCount, loss: chunkLoss, correct: chunkCorrect });
        for (const [name, s] of Object.entries(out.stats)) {
          const target = moments[name];
          const units = target.mean.length / totalChunks;
          target.mean.set((await s.mean.data()) as Float32Array, chunk0 * units);
          target.m2.set((await s.m2.data()) as Float32Array, chunk0 * units);
          target.count.fill(group.size, chunk0, chunk0 + group.chunks);
        }
      } finally {
        // The gradients are disposed with chunkGrads below.
        tf.dispose([out.loss, out.correct, ...Object.values(out.stats).flatMap((v) => [v.mean, v.m2])]);
      }
      chunk0 += group.chunks;
    }
    for (const p of plan.parameters) {
      const list = chunkGrads[p.name];
      if (!exact) {
        // One sum per group, added in group order.
        const sum = list.length === 1 ? list[0] : tf.tidy(() => list.reduce((x, y) => tf.add(x, y)));
        blockSums[0][p.name] = (await sum.data()) as Float32Array;
        if (list.length > 1) sum.dispose();
        continue;
      }
      for (let b = 0; b < blocks.length; b++) {
        const { start, count } = blocks[b];
        const sum = count === 1 ? list[start] : tf.tidy(() => treeReduce(count, (c) => list[start + c], (x, y) => tf.add(x, y)));
        blockSums[b][p.name] = (await sum.data()) as Float32Array;
        if (count > 1) sum.dispose();
      }
    }
  } finally {
    tf.dispose([...t.values(), ...Object.values(chunkGrads).flat()]);
  }
  const chunks = { count: chunkCount, loss: chunkLoss, correct: chunkCorrect };
  const whole = blocks.length === 1 && blocks[0].count === totalChunks;
  return {
    count: m,
    lossSum: treeReduce(totalChunks, (c) => chunkLoss[c], (a, b) => a + b),
    correct: chunkCorrect.reduce((a, b) => a + b, 0),
    chunks,
    gradients: whole ? blockSums[0] : options.blocks ? undefined : treeOfBlocks(blocks, blockSums, totalChunks),
    blocks: blocks.map((b, i) => ({ start: b.start, count: b.count, gradients: blockSums[i] })),
    batchNorm: moments,
  };
}

function checkBlocks(blocks: readonly Block[], totalChunks: number): void {
  for (const [i, b] of blocks.entries()) {
    if (!Number.isInteger(b.start) || !Number.isInteger(b.count) || b.start < 0 || b.count < 1 || b.start + b.count > totalChunks) {
      throw new RangeError(`Cannot run model: 'blocks[${i}]' must lie within the shard's ${totalChunks} chunks, current value is [${b.start}, ${b.start + b.count})`);
    }
  }
}

/** The canonical tree over a call's chunks completed from block sums (when blocks are tree nodes). */
function treeOfBlocks(blocks: readonly Block[], sums: NamedArrays[], totalChunks: number): NamedArrays {
  const out: NamedArrays = {};
  for (const name of Object.keys(sums[0] ?? {})) {
    out[name] = combineBlocks(blocks.map((b, i) => ({ ...b, value: sums[i][name] })), totalChunks, addFloat32);
  }
  return out;
}

/**
 * Loss sum, correct count and optionally the outputs of a shard in inference mode: no dropout,
 * batch norm with the running statistics `batchNormState`. Disposes every tensor it creates.
 */
export async function evaluate(
  plan: ModelPlan,
  params: NamedArrays,
  batchNormState: NamedArrays,
  batch: Batch,
  options: EvaluateOptions,
): Promise<EvaluateResult> {
  const m = checkBatch(plan, batch, options.chunkSize);
  checkTensors(params, plan.parameters, "parameters");
  checkTensors(batchNormState, plan.batchNormState, "batchNorm");
  const groups = groupsOf(m, options.chunkSize);
  const totalChunks = groups.reduce((s, g) => s + g.chunks, 0);
  const t = toTensors(plan, params, batchNormState);
  const chunkLoss = new Float64Array(totalChunks);
  const chunkCorrect = new Int32Array(totalChunks);
  const chunkCount = new Int32Array(totalChunks);
  const outputs = options.outputs ? new Float32Array(m * plan.outputs) : undefined;
  try {
    let chunk0 = 0;
    for (const group of groups) {
      const out = tf.tidy(() => {
        const x = inputTensor(plan, batch.inputs, group);
        const y = labelTensor(plan, batch.labels, group);
        const { logits } = forward(plan, t, x, { train: false });
        const r = lossAndGradient(plan, logits, y, false);
        return { loss: tf.sum(r.loss, 1), correct: r.correct, outputs: r.outputs };
      });
      try {
        await readChunkStats(out, group, chunk0, { count: chunkCount, loss: chunkLoss, correct: chunkCorrect });
        if (outputs) outputs.set((await out.outputs.data()) as Float32Array, group.row * plan.outputs);
      } finally {
        tf.dispose(out);
      }
      chunk0 += group.chunks;
    }
  } finally {
    tf.dispose([...t.values()]);
  }
  return {
    count: m,
    lossSum: treeReduce(totalChunks, (c) => chunkLoss[c], (a, b) => a + b),
    correct: chunkCorrect.reduce((a, b) => a + b, 0),
    chunks: { count: chunkCount, loss: chunkLoss, correct: chunkCorrect },
    outputs,
  };
}
