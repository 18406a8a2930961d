/**
 * Data augmentation of image-shaped examples ([height, width, channels], row-major, channels last):
 * horizontal flips, shifts with zero fill, additive Gaussian noise. The random numbers of an example
 * come from Rng(seed, Domain.augment, epoch, index) with `index` its global example index, so an example
 * is augmented identically whichever worker, shard or batch holds it, and differently every epoch.
 */
import { Domain, Rng } from "../random.ts";
import { ValidationError } from "../validation-error.ts";

export interface AugmentOptions {
  /** Mirror left–right with probability 0.5; default false. */
  readonly flipHorizontal?: boolean;
  /** Shift by dy, dx drawn uniformly from {−shift, …, shift} (zero fill); an integer ≥ 0, default 0. */
  readonly shift?: number;
  /** Standard deviation σ of additive Gaussian noise, ≥ 0; default 0. */
  readonly noise?: number;
}

/** What keys an example's random numbers. */
export interface AugmentKey {
  readonly seed: number;
  readonly epoch: number;
  /** Global example index (position in the training set). */
  readonly index: number;
}

const FIELDS = ["flipHorizontal", "shift", "noise"];

/** [height, width, channels] of an input shape of length 3, or 2 ([height, width], one channel). */
function imageDims(inputShape: readonly number[]): [number, number, number] {
  if (!Array.isArray(inputShape) || (inputShape.length !== 2 && inputShape.length !== 3)) {
    throw new ValidationError(
      "inputShape",
      `Cannot augment: 'inputShape' must be [height, width, channels], current value is ${JSON.stringify(inputShape)}`,
    );
  }
  for (const d of inputShape) {
    if (!Number.isSafeInteger(d) || d < 1) {
      throw new ValidationError(
        "inputShape",
        `Cannot augment: 'inputShape' must hold integers ≥ 1, current value is ${JSON.stringify(inputShape)}`,
      );
    }
  }
  return [inputShape[0], inputShape[1], inputShape[2] ?? 1];
}

/**
 * Checks augmentation options against an image shape: no unknown field; `flipHorizontal` a boolean;
 * `shift` an integer in [0, min(height, width)); `noise` a finite number ≥ 0. Throws a ValidationError
 * naming the field for a wrong type, an unknown field or a value out of range.
 */
export function validateAugmentOptions(options: AugmentOptions, inputShape: readonly number[]): void {
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new ValidationError("augment", `Cannot augment: 'augment' must be an object, current value is ${JSON.stringify(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!FIELDS.includes(key)) {
      throw new ValidationError(`augment.${key}`, `Cannot augment: unknown field 'augment.${key}'; the fields are ${FIELDS.map((f) => `'${f}'`).join(", ")}`);
    }
  }
  const [h, w] = imageDims(inputShape);
  const { flipHorizontal, shift, noise } = options;
  if (flipHorizontal !== undefined && typeof flipHorizontal !== "boolean") {
    throw new ValidationError("flipHorizontal", `Cannot augment: 'flipHorizontal' must be a boolean, current value is ${JSON.stringify(flipHorizontal)}`);
  }
  if (shift !== undefined) {
    if (typeof shift !== "number") {
      throw new ValidationError("shift", `Cannot augment: 'shift' must be a number, current value is ${JSON.stringify(shift)}`);
    }
    const limit = Math.min(h, w);
    if (!Number.isInteger(shift) || shift < 0 || shift >= limit) {
      throw new ValidationError(
        "shift",
        `Cannot augment: 'shift' must be an integer in [0, ${limit}) for a ${h}×${w} image, current value is ${shift}`,
      );
    }
  }
  if (noise !== undefined) {
    if (typeof noise !== "number") {
      throw new ValidationError("noise", `Cannot augment: 'noise' must be a number, current value is ${JSON.stringify(noise)}`);
    }
    if (!Number.isFinite(noise) || noise < 0) {
      throw new ValidationError("noise", `Cannot augment: 'noise' must be a finite number ≥ 0, current value is ${noise}`);
    }
  }
}

function checkKey(key: AugmentKey): void {
  for (const field of ["epoch", "index"] as const) {
    const v = key[field];
    if (!Number.isInteger(v) || v < 0 || v >= 2 ** 32) {
      throw new RangeError(`Cannot augment: '${field}' must be an integer in [0, 2^32), current value is ${v}`);
    }
  }
}

/** Augments one validated row into `out` (which must not alias `row`). */
function augmentInto(
  row: Float32Array,
  dims: [number, number, number],
  options: AugmentOptions,
  key: AugmentKey,
  out: Float32Array,
): void {
  const [h, w, c] = dims;
  const rng = new Rng(key.seed, Domain.augment, key.epoch, key.index);
  // Fixed draw order (flip, dy, dx, noise), drawn whether or not a transform is enabled, so turning
  // one transform on or off leaves the others' random numbers unchanged.
  const flipDraw = rng.uniform();
  const k = options.shift ?? 0;
  const dyDraw = rng.int(2 * k + 1);
  const dxDraw = rng.int(2 * k + 1);
  const flip = options.flipHorizontal === true && flipDraw < 0.5;
  const dy = dyDraw - k;
  const dx = dxDraw - k;
  // out[y][x] = in[y − dy][x' − dx] with x' the (possibly mirrored) column; 0 outside the image.
  for (let y = 0; y < h; y++) {
    const sy = y - dy;
    for (let x = 0; x < w; x++) {
      const base = (y * w + x) * c;
      const tx = x - dx;
      if (sy < 0 || sy >= h || tx < 0 || tx >= w) {
        out.fill(0, base, base + c);
        continue;
      }
      const sx = flip ? w - 1 - tx : tx;
      const src = (sy * w + sx) * c;
      for (let ch = 0; ch < c; ch++) out[base + ch] = row[src + ch];
    }
  }
  const sigma = options.noise ?? 0;
  if (sigma > 0) for (let i = 0; i < out.length; i++) out[i] += sigma * rng.normal();
}

/**
 * One augmented example: the row (length h·w·c, layout [h, w, c]) mirrored left–right with
 * probability 0.5 (if `flipHorizontal`), then shifted by (dy, dx) uniform in {−shift..shift}², out[y][x] =
 * in[y − dy][x − dx] with zeros where that falls outside, then plus σ·N(0, 1) per value (if `noise`).
 * The random numbers are those of Rng(seed, Domain.augment, epoch, index), so the result depends only on
 * (row, options, seed, epoch, index). Returns a new array; `row` is not modified.
 */
export function augmentExample(
  row: Float32Array,
  inputShape: readonly number[],
  options: AugmentOptions,
  key: AugmentKey,
): Float32Array {
  validateAugmentOptions(options, inputShape);
  const dims = imageDims(inputShape);
  const n = dims[0] * dims[1] * dims[2];
  if (row.length !== n) {
    throw new TypeError(`Cannot augment: the row must have ${n} values for shape [${dims}], current value is ${row.length}`);
  }
  checkKey(key);
  const out = new Float32Array(n);
  augmentInto(row, dims, options, key, out);
  return out;
}

/**
 * A batch of augmented examples: `features` is row-major [b, n] and `indices[i]` the global example
 * index of row i; row i is augmented exactly as {@link augmentExample} with key (seed, epoch,
 * indices[i]), so the result of an example does not depend on the batch it is in. Returns a new array.
 */
export function augmentBatch(
  features: Float32Array,
  inputShape: readonly number[],
  options: AugmentOptions,
  batch: { readonly seed: number; readonly epoch: number; readonly indices: ArrayLike<number> },
): Float32Array {
  validateAugmentOptions(options, inputShape);
  const dims = imageDims(inputShape);
  const n = dims[0] * dims[1] * dims[2];
  const b = batch.indices.length;
  if (features.length !== b * n) {
    throw new TypeError(
      `Cannot augment: the features must have ${b} rows of ${n} values (${b * n}), current value is ${features.length}`,
    );
  }
  const out = new Float32Array(b * n);
  for (let i = 0; i < b; i++) {
    const key = { seed: batch.seed, epoch: batch.epoch, index: batch.indices[i] };
    checkKey(key);
    augmentInto(features.subarray(i * n, (i + 1) * n), dims, options, key, out.subarray(i * n, (i + 1) * n));
  }
  return out;
}
