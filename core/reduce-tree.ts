/**
 * The canonical reduction order that makes sums independent of how chunks are sharded.
 *
 * Chunk values (gradients, losses, batch-norm moments) are combined by one fixed pairwise tree
 * over chunk indices 0..n−1: a node covers the aligned block [k·2^j, (k+1)·2^j) clipped to n, and
 * its value is left + right (or just left when the right half is empty). Because floating-point
 * addition is not associative, every process must follow this tree: a worker holding an aligned
 * block may pre-sum it (its local tree is the global subtree); the coordinator completes the tree.
 */

function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/**
 * Reduces `n` leaves (`leaf(i)` for i in [0, n)) in canonical tree order with `combine`.
 * `combine(a, b)` receives the left value first. Throws a RangeError for n < 1.
 */
export function treeReduce<T>(n: number, leaf: (index: number) => T, combine: (left: T, right: T) => T): T {
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`Cannot reduce: 'n' must be an integer ≥ 1, current value is ${n}`);
  }
  const node = (lo: number, span: number): T => {
    if (span === 1) return leaf(lo);
    const half = span / 2;
    if (lo + half >= n) return node(lo, half);
    return combine(node(lo, half), node(lo + half, half));
  };
  return node(0, nextPowerOfTwo(n));
}

/** A block of chunks that is a node of the canonical tree: [start, start + count). */
export interface Block {
  readonly start: number;
  readonly count: number;
}

/**
 * Splits the chunk range [start, end) of a batch of `total` chunks into the fewest canonical-tree
 * nodes (maximal aligned power-of-two blocks, the last one possibly clipped at `total`).
 */
export function alignedBlocks(start: number, end: number, total: number): Block[] {
  if (!(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start < end && end <= total)) {
    throw new RangeError(`Cannot split chunks: need integers 0 ≤ start < end ≤ total, current values are ${start}, ${end}, ${total}`);
  }
  const blocks: Block[] = [];
  let lo = start;
  while (lo < end) {
    // Largest power of two that divides lo and whose block fits in [lo, end) (or reaches total).
    let span = lo === 0 ? nextPowerOfTwo(total) : lo & -lo;
    while (span > 1 && lo + Math.min(span, total - lo) > end) span /= 2;
    const count = Math.min(span, total - lo);
    blocks.push({ start: lo, count });
    lo += count;
  }
  return blocks;
}

/** Element-wise a + b into a new Float32Array (float32 rounding of the exact sum). */
export function addFloat32(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] + b[i];
  return out;
}

/**
 * Element-wise `a ← a + b`, returning `a`: the same bits as {@link addFloat32} without a new array,
 * for a caller that owns `a` and does not need its old values (the coordinator summing the
 * gradients its workers sent; bench/coordinator-step.ts measures what that saves).
 */
export function addInto(a: Float32Array, b: Float32Array): Float32Array {
  for (let i = 0; i < a.length; i++) a[i] = a[i] + b[i];
  return a;
}

/** {@link addInto} for every named array of `a` (`b` has the same names), returning `a`. */
export function addNamedArraysInto(a: Record<string, Float32Array>, b: Readonly<Record<string, Float32Array>>): Record<string, Float32Array> {
  for (const name of Object.keys(a)) addInto(a[name], b[name]);
  return a;
}

/**
 * Completes the canonical tree over `total` chunks from the sums of blocks that are tree nodes
 * (as returned by {@link alignedBlocks}) and cover [0, total) exactly. The coordinator calls this
 * with the blocks that its workers returned; the result is the same bits however the chunks were
 * sharded. Throws a RangeError naming the first chunk no block covers.
 */
export function combineBlocks<T>(
  blocks: readonly (Block & { readonly value: T })[],
  total: number,
  combine: (left: T, right: T) => T,
): T {
  const byStart = new Map(blocks.map((b) => [b.start, b]));
  const node = (lo: number, span: number): T => {
    const block = byStart.get(lo);
    if (block && block.count === Math.min(span, total - lo)) return block.value;
    if (span === 1) throw new RangeError(`Cannot combine blocks: chunk ${lo} of ${total} is not covered by a tree-aligned block`);
    const half = span / 2;
    if (lo + half >= total) return node(lo, half);
    return combine(node(lo, half), node(lo + half, half));
  };
  return node(0, nextPowerOfTwo(total));
}

/**
 * The tree of {@link combineBlocks}, filled as the blocks arrive, in any order: a block is
 * combined with its sibling subtree as soon as both are there, so that after the last block only
 * the combinations on its path to the root remain (the coordinator sums the replies of a step
 * while it waits for the slowest worker). Every combination has the same operands in the same
 * order as in combineBlocks, so the result is the same, bit for bit for float sums. Blocks must
 * be tree nodes (as {@link alignedBlocks} makes them) that cover [0, total) exactly once.
 */
export class TreeAccumulator<T> {
  readonly #total: number;
  readonly #root: number;
  readonly #combine: (left: T, right: T) => T;
  /** Complete subtrees waiting for their sibling, by heap index (root 1, children 2i and 2i+1). */
  readonly #waiting = new Map<number, T>();
  #result: { value: T } | null = null;

  constructor(total: number, combine: (left: T, right: T) => T) {
    if (!Number.isInteger(total) || total < 1) {
      throw new RangeError(`Cannot accumulate blocks: 'total' must be an integer ≥ 1, current value is ${total}`);
    }
    this.#total = total;
    this.#root = nextPowerOfTwo(total);
    this.#combine = combine;
  }

  /** Adds the value of the block [start, start + count), combining what it completes. */
  add(start: number, count: number, value: T): void {
    let span = nextPowerOfTwo(count);
    const aligned = Number.isInteger(start) && Number.isInteger(count) && count >= 1 && start >= 0 && start % span === 0;
    if (!aligned || start + count > this.#total || (count !== span && start + count !== this.#total)) {
      throw new RangeError(`Cannot accumulate blocks: [${start}, ${start + count}) is not a node of the tree over ${this.#total} chunks`);
    }
    if (this.#result) throw new RangeError(`Cannot accumulate blocks: the tree over ${this.#total} chunks is complete, [${start}, ${start + count}) is one too many`);
    let lo = start;
    let v = value;
    while (span < this.#root) {
      const parentLo = lo - (lo % (2 * span));
      const left = lo === parentLo;
      const siblingLo = left ? lo + span : parentLo;
      if (left && siblingLo >= this.#total) {
        // The right half is empty: the parent's value is this one.
        span *= 2;
        continue;
      }
      const key = this.#index(siblingLo, span);
      const sibling = this.#waiting.get(key);
      if (sibling === undefined) {
        const own = this.#index(lo, span);
        if (this.#waiting.has(own)) throw new RangeError(`Cannot accumulate blocks: chunks [${lo}, ${Math.min(lo + span, this.#total)}) were added twice`);
        this.#waiting.set(own, v);
        return;
      }
      this.#waiting.delete(key);
      v = left ? this.#combine(v, sibling) : this.#combine(sibling, v);
      lo = parentLo;
      span *= 2;
    }
    this.#result = { value: v };
  }

  /** The root's value; throws a RangeError while some chunk is missing. */
  result(): T {
    if (!this.#result) throw new RangeError(`Cannot accumulate blocks: the blocks added so far do not cover the ${this.#total} chunks`);
    return this.#result.value;
  }

  #index(lo: number, span: number): number {
    return this.#root / span + lo / span;
  }
}
