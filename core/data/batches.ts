/**
 * Mini-batches: every epoch visits the m training examples in a seeded order, cut into batches of
 * `batchSize` (the last one partial). `batchSize` 1 is stochastic gradient descent, `batchSize` ≥ m
 * is batch gradient descent (one step per epoch). Indices here are positions in the training set.
 */
import { Domain, permutation, Rng } from "../random.ts";

export interface BatchOptions {
  /** Examples per batch, an integer ≥ 1; the last batch of an epoch holds the rest. */
  readonly batchSize: number;
  /** Seed of the shuffle (stream Rng(seed, Domain.shuffle, epoch)). */
  readonly seed: number;
}

/** A batch located by global step. */
export interface BatchLocation {
  readonly epoch: number;
  /** Batch number within the epoch. */
  readonly batch: number;
  /** Training-set indices of the batch's examples, in batch order. */
  readonly indices: Int32Array;
}

function checkCount(what: string, m: number): void {
  if (typeof m !== "number" || !Number.isSafeInteger(m) || m < 0) {
    throw new RangeError(`Cannot ${what}: 'm' must be an integer ≥ 0, current value is ${String(m)}`);
  }
}

function checkBatchSize(what: string, batchSize: number): void {
  if (typeof batchSize !== "number" || !Number.isSafeInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`Cannot ${what}: 'batchSize' must be an integer ≥ 1, current value is ${String(batchSize)}`);
  }
}

/** Steps (batches) per epoch: ⌈m / batchSize⌉ (0 for an empty training set). */
export function stepsPerEpoch(m: number, batchSize: number): number {
  checkCount("count steps", m);
  checkBatchSize("count steps", batchSize);
  return Math.ceil(m / batchSize);
}

/**
 * The order in which epoch `epoch` visits the m training examples: a permutation of 0..m-1 drawn by
 * Fisher–Yates from Rng(seed, Domain.shuffle, epoch). A pure function of (m, seed, epoch), so any
 * process (or a resumed job) recomputes the same order.
 */
export function epochOrder(m: number, seed: number, epoch: number): Int32Array {
  checkCount("shuffle an epoch", m);
  if (typeof epoch !== "number" || !Number.isInteger(epoch) || epoch < 0 || epoch >= 2 ** 32) {
    throw new RangeError(`Cannot shuffle an epoch: 'epoch' must be an integer in [0, 2^32), current value is ${String(epoch)}`);
  }
  return permutation(m, new Rng(seed, Domain.shuffle, epoch));
}

/**
 * Batch `batch` of an epoch whose order is `order`: positions [batch·batchSize, min((batch+1)·batchSize, m))
 * of the order. Returns a view (subarray) of `order`, not a copy.
 */
export function batchOf(order: Int32Array, batchSize: number, batch: number): Int32Array {
  checkBatchSize("take a batch", batchSize);
  const steps = Math.ceil(order.length / batchSize);
  if (!Number.isInteger(batch) || batch < 0 || batch >= steps) {
    throw new RangeError(`Cannot take a batch: 'batch' must be an integer in [0, ${steps}), current value is ${batch}`);
  }
  return order.subarray(batch * batchSize, Math.min((batch + 1) * batchSize, order.length));
}

/** All batches of an epoch whose order is `order`, as views of it (see {@link batchOf}). */
export function miniBatches(order: Int32Array, batchSize: number): Int32Array[] {
  checkBatchSize("cut batches", batchSize);
  const batches: Int32Array[] = [];
  for (let start = 0; start < order.length; start += batchSize) {
    batches.push(order.subarray(start, Math.min(start + batchSize, order.length)));
  }
  return batches;
}

/**
 * The batch of global step `step` (counting from 0 across epochs): epoch = ⌊step / S⌋ and batch =
 * step mod S with S = ⌈m / batchSize⌉, indices = batch of {@link epochOrder}(m, seed, epoch). This
 * recomputes the epoch's permutation (O(m)); a training loop should compute `epochOrder` once per epoch
 * and take {@link batchOf} from it.
 */
export function batchIndices(m: number, step: number, options: BatchOptions): BatchLocation {
  const steps = stepsPerEpoch(m, options.batchSize);
  if (steps === 0) throw new RangeError("Cannot take a batch: the training set has no examples");
  if (typeof step !== "number" || !Number.isSafeInteger(step) || step < 0) {
    throw new RangeError(`Cannot take a batch: 'step' must be an integer ≥ 0, current value is ${String(step)}`);
  }
  const epoch = Math.floor(step / steps);
  const batch = step - epoch * steps;
  const indices = batchOf(epochOrder(m, options.seed, epoch), options.batchSize, batch).slice();
  return { epoch, batch, indices };
}
