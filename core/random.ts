/**
 * Counter-based random numbers (Philox4x32-10, Salmon et al., "Parallel random numbers: as easy as
 * 1, 2, 3", SC 2011). A value is a pure function of (key, counter), so any process can recompute
 * the random numbers of any example without sharing a generator state: this is what makes dropout
 * masks, augmentation and shuffles independent of how a batch is split over workers.
 *
 * Keys are derived from the user's seed and a domain constant, so the dropout stream of seed 42
 * never overlaps the initializer stream of seed 42.
 */

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;
const TWO_POW_32 = 4294967296;

/** Domains that separate the uses of one seed. */
export const Domain = {
  init: 0x494e4954, // "INIT"
  dropout: 0x44524f50, // "DROP"
  shuffle: 0x53485546, // "SHUF"
  split: 0x53504c54, // "SPLT"
  augment: 0x41554720, // "AUG "
  data: 0x44415441, // "DATA"
  search: 0x53524348, // "SRCH"
  test: 0x54455354, // "TEST"
} as const;

/** High 32 bits of the 64-bit product of two uint32 values. */
function mulhi(a: number, b: number): number {
  const al = a & 0xffff, ah = a >>> 16, bl = b & 0xffff, bh = b >>> 16;
  const lh = al * bh, hl = ah * bl;
  const mid = ((al * bl) >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  return (ah * bh + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) >>> 0;
}

/**
 * Philox4x32 with 10 rounds: four uint32 counter words and two uint32 key words to four uint32
 * outputs, written into `out` (allocated when omitted).
 */
export function philox4x32(
  counter: ArrayLike<number>,
  key: ArrayLike<number>,
  out: Uint32Array = new Uint32Array(4),
): Uint32Array {
  let c0 = counter[0] >>> 0, c1 = counter[1] >>> 0, c2 = counter[2] >>> 0, c3 = counter[3] >>> 0;
  let k0 = key[0] >>> 0, k1 = key[1] >>> 0;
  for (let round = 0; round < 10; round++) {
    const hi0 = mulhi(M0, c0), lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulhi(M1, c2), lo1 = Math.imul(M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
    k0 = (k0 + W0) >>> 0;
    k1 = (k1 + W1) >>> 0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
  return out;
}

/** The Philox key of a seed in a domain. Seeds are integers in [0, 2^53). */
export function keyOf(seed: number, domain: number): [number, number] {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new RangeError(`Cannot derive a random key: 'seed' must be an integer in [0, 2^53), current value is ${seed}`);
  }
  return [seed >>> 0, (Math.floor(seed / TWO_POW_32) ^ domain) >>> 0];
}

/** Maps a uint32 to a float in [0, 1). */
export function toUnit(x: number): number {
  return (x >>> 0) / TWO_POW_32;
}

/**
 * A sequential generator over the Philox stream `(seed, domain, stream)`: the i-th draw is
 * philox(counter = [i / 4, 0, stream0, stream1], key)[i mod 4]. Cheap to create; use one per
 * purpose (layer, epoch, ...) rather than threading one generator through unrelated code.
 */
export class Rng {
  readonly #key: [number, number];
  readonly #counter = new Uint32Array(4);
  readonly #block = new Uint32Array(4);
  #index = 4;
  #spareNormal: number | null = null;

  constructor(seed: number, domain: number, stream0 = 0, stream1 = 0) {
    this.#key = keyOf(seed, domain);
    this.#counter[2] = stream0 >>> 0;
    this.#counter[3] = stream1 >>> 0;
  }

  /** Next uint32. */
  nextUint32(): number {
    if (this.#index === 4) {
      philox4x32(this.#counter, this.#key, this.#block);
      this.#counter[0] = (this.#counter[0] + 1) >>> 0;
      if (this.#counter[0] === 0) this.#counter[1] = (this.#counter[1] + 1) >>> 0;
      this.#index = 0;
    }
    return this.#block[this.#index++];
  }

  /** Uniform float in [0, 1). */
  uniform(): number {
    return toUnit(this.nextUint32());
  }

  /** Uniform integer in [0, n), without modulo bias (n ≤ 2^32). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > TWO_POW_32) {
      throw new RangeError(`Cannot draw an integer: 'n' must be an integer in [1, 2^32], current value is ${n}`);
    }
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /** Standard normal (Box–Muller; the second value of each pair is kept for the next call). */
  normal(): number {
    if (this.#spareNormal !== null) {
      const z = this.#spareNormal;
      this.#spareNormal = null;
      return z;
    }
    const u1 = (this.nextUint32() + 1) / (TWO_POW_32 + 1); // (0, 1): log never sees 0
    const u2 = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    this.#spareNormal = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  }

  /** Fisher–Yates shuffle of `array` in place; returns it. */
  shuffle<T extends { length: number; [i: number]: unknown }>(array: T): T {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = array[i];
      array[i] = array[j];
      array[j] = tmp;
    }
    return array;
  }
}

/** A permutation of 0..n-1 drawn from `rng`. */
export function permutation(n: number, rng: Rng): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  return rng.shuffle(p);
}
