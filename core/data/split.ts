/**
 * Seeded train/dev/test splits. `"auto"` is the rule of the course *Improving Deep Neural Networks*:
 * 60/20/20 up to 1,000,000 examples, 98/1/1 above. Classification splits are stratified: each class is
 * split in the same proportions as the whole, so the three splits come from the same distribution.
 */
import type { Dataset } from "./dataset.ts";
import { take } from "./dataset.ts";
import { Domain, permutation, Rng } from "../random.ts";
import { ValidationError } from "../validation-error.ts";

export interface SplitFractions {
  readonly train: number;
  readonly dev: number;
  readonly test: number;
}

/** `"auto"` or explicit fractions. */
export type SplitSpec = "auto" | SplitFractions;

export interface SplitSizes {
  readonly train: number;
  readonly dev: number;
  readonly test: number;
}

/** Example indices (ascending) of each split. */
export interface SplitIndices {
  readonly train: Int32Array;
  readonly dev: Int32Array;
  readonly test: Int32Array;
}

export interface SplitOptions {
  /** Default `"auto"`. */
  readonly split?: SplitSpec;
  /** Seed of the split's shuffle (stream `Rng(seed, Domain.split)`). */
  readonly seed: number;
  /** Stratify by class; default true for class labels. Not allowed for regression targets. */
  readonly stratify?: boolean;
}

/** Largest number of examples to which "auto" gives 60/20/20. */
export const AUTO_SPLIT_THRESHOLD = 1_000_000;

const NAMES = ["train", "dev", "test"] as const;

/**
 * The fractions of the "auto" rule for m examples: {0.6, 0.2, 0.2} when m ≤ 1,000,000, else
 * {0.98, 0.01, 0.01} (with a million examples or more, 1% is already 10,000 dev and test examples).
 */
export function autoSplitFractions(m: number): SplitFractions {
  checkCount(m);
  return m <= AUTO_SPLIT_THRESHOLD ? { train: 0.6, dev: 0.2, test: 0.2 } : { train: 0.98, dev: 0.01, test: 0.01 };
}

function checkCount(m: number): void {
  if (typeof m !== "number" || !Number.isSafeInteger(m) || m < 0) {
    throw new RangeError(`Cannot split: the number of examples must be an integer ≥ 0, current value is ${String(m)}`);
  }
}

/**
 * Validates a split spec and returns its fractions for m examples: "auto" per
 * {@link autoSplitFractions}; explicit fractions must each be in [0, 1], sum to 1 within 1e-9, and
 * have train > 0.
 */
export function resolveSplit(spec: SplitSpec, m: number): SplitFractions {
  if (spec === "auto") return autoSplitFractions(m);
  if (spec === null || typeof spec !== "object") {
    throw new ValidationError("split", `Cannot split: 'split' must be "auto" or {train, dev, test}, current value is ${JSON.stringify(spec)}`);
  }
  for (const key of Object.keys(spec)) {
    if (!(NAMES as readonly string[]).includes(key)) {
      throw new ValidationError(`split.${key}`, `Cannot split: unknown field 'split.${key}'; the fields are 'train', 'dev' and 'test'`);
    }
  }
  for (const key of NAMES) {
    const f: unknown = spec[key];
    if (typeof f !== "number") {
      throw new ValidationError(key, `Cannot split: '${key}' must be a number, current value is ${JSON.stringify(f)}`);
    }
    if (!(f >= 0 && f <= 1)) throw new ValidationError(key, `Cannot split: '${key}' must be in [0, 1], current value is ${f}`);
  }
  if (!(spec.train > 0)) throw new ValidationError("train", `Cannot split: 'train' must be in (0, 1], current value is ${spec.train}`);
  const sum = spec.train + spec.dev + spec.test;
  if (Math.abs(sum - 1) > 1e-9) {
    throw new ValidationError(
      "split",
      `Cannot split: 'train' + 'dev' + 'test' must be 1, current value is ${Number(sum.toPrecision(12))} (${spec.train} + ${spec.dev} + ${spec.test})`,
    );
  }
  return { train: spec.train, dev: spec.dev, test: spec.test };
}

/**
 * Sizes of the three splits of m examples: the largest-remainder rounding of m·fraction (each split
 * gets ⌊m·f⌋, then the examples left over go one each to the largest fractional parts, ties in the
 * order train, dev, test), so the sizes sum to m and each is within 1 of m·f. Example: m = 999,999 with
 * "auto" (60/20/20) gives 599,999 / 200,000 / 200,000; m = 1,000,001 (98/1/1) gives 980,001 / 10,000 /
 * 10,000. Throws a ValidationError when the training split would be empty.
 */
export function splitSizes(m: number, spec: SplitSpec = "auto"): SplitSizes {
  checkCount(m);
  const f = resolveSplit(spec, m);
  const exact = NAMES.map((k) => snap(m * f[k]));
  const sizes = exact.map(Math.floor);
  let left = m - sizes[0] - sizes[1] - sizes[2];
  const order = [0, 1, 2].sort((a, b) => exact[b] - sizes[b] - (exact[a] - sizes[a]) || a - b);
  for (const i of order) {
    if (left <= 0) break;
    sizes[i]++;
    left--;
  }
  if (m > 0 && sizes[0] === 0) {
    throw new ValidationError("train", `Cannot split: 'train' = ${f.train} of ${m} examples leaves the training split empty`);
  }
  return { train: sizes[0], dev: sizes[1], test: sizes[2] };
}

/**
 * Seeded split of the examples of `dataset` into train/dev/test index sets (disjoint, covering 0..m-1,
 * each ascending), with the sizes of {@link splitSizes}. Unstratified: a permutation drawn from
 * Rng(seed, Domain.split) is cut into three. Stratified (default for class labels): class c with n_c
 * examples gives split s either ⌊n_c·f_s⌋ or ⌈n_c·f_s⌉ of them, chosen so that every class is fully
 * assigned and the split sizes are still exactly those of {@link splitSizes} (a matrix rounding, found by
 * augmenting paths over the classes in a seeded random order); each class's examples are shuffled and
 * dealt out in the order train, dev, test. So every split holds within one example of the same fraction
 * of every class.
 */
export function splitIndices(dataset: Dataset, options: SplitOptions): SplitIndices {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`Cannot split: 'options' must be an object, current value is ${String(options)}`);
  }
  const m = dataset.shape[0];
  const spec = options.split ?? "auto";
  const sizes = splitSizes(m, spec);
  const labels = dataset.labels;
  const stratify = options.stratify ?? labels.kind === "classes";
  if (typeof stratify !== "boolean") {
    throw new TypeError(`Cannot split: 'stratify' must be a boolean, current value is ${JSON.stringify(stratify)}`);
  }
  if (stratify && labels.kind !== "classes") {
    throw new TypeError("Cannot split: 'stratify' needs class labels, and this dataset has regression targets");
  }
  const rng = new Rng(options.seed, Domain.split);
  if (!stratify || labels.kind !== "classes") {
    const order = permutation(m, rng);
    return {
      train: order.slice(0, sizes.train).sort(),
      dev: order.slice(sizes.train, sizes.train + sizes.dev).sort(),
      test: order.slice(sizes.train + sizes.dev).sort(),
    };
  }
  const k = labels.classes.length;
  const values = labels.values;
  const members: number[][] = Array.from({ length: k }, () => []);
  for (let i = 0; i < m; i++) {
    const c = values[i];
    if (!(c >= 0 && c < k)) {
      throw new RangeError(`Cannot split: label ${i} must be a class index in [0, ${k}), current value is ${c}`);
    }
    members[c].push(i);
  }
  const counts = stratifiedCounts(
    members.map((list) => list.length),
    resolveSplit(spec, m),
    [sizes.train, sizes.dev, sizes.test],
    rng,
  );
  const parts: number[][] = [[], [], []];
  for (let c = 0; c < k; c++) {
    const list = rng.shuffle(members[c]);
    let at = 0;
    for (let s = 0; s < 3; s++) {
      for (let j = 0; j < counts[3 * c + s]; j++) parts[s].push(list[at++]);
    }
  }
  const sorted = (part: number[]) => Int32Array.from(part).sort();
  return { train: sorted(parts[0]), dev: sorted(parts[1]), test: sorted(parts[2]) };
}

/**
 * Per-class split counts Y (row-major [K, 3]) with Y_cs ∈ {⌊n_c·f_s⌋, ⌈n_c·f_s⌉}, Σ_s Y_cs = n_c and
 * Σ_c Y_cs = sizes_s. Starts from the floors; each class then has r_c = n_c − Σ_s ⌊n_c·f_s⌋ ∈ {0, 1, 2}
 * units left and split s needs R_s = sizes_s − Σ_c ⌊n_c·f_s⌋; a unit may go to s only where n_c·f_s is
 * not an integer, at most one per (c, s). This is a bipartite flow; with three splits it always routes
 * fully, because a class's fractional parts are each < 1 and sum to r_c, and R_s is at most the number of
 * classes with a fractional part in s. Units are placed class by class in a random order (largest
 * fractional part first), moving earlier units along augmenting paths when a split is full.
 */
function stratifiedCounts(
  n: readonly number[],
  fractions: SplitFractions,
  sizes: readonly [number, number, number],
  rng: Rng,
): Int32Array {
  const k = n.length;
  const f = [fractions.train, fractions.dev, fractions.test];
  const counts = new Int32Array(3 * k);
  const frac = new Float64Array(3 * k);
  const need = [...sizes];
  const left = new Int32Array(k);
  for (let c = 0; c < k; c++) {
    let assigned = 0;
    for (let s = 0; s < 3; s++) {
      const x = snap(n[c] * f[s]);
      counts[3 * c + s] = Math.floor(x);
      frac[3 * c + s] = x - Math.floor(x);
      need[s] -= counts[3 * c + s];
      assigned += counts[3 * c + s];
    }
    left[c] = n[c] - assigned;
  }
  const extra = new Uint8Array(3 * k); // units placed above the floor, per (class, split)
  const classOrder = permutation(k, rng);
  const place = (c: number, visited: boolean[]): boolean => {
    const splits = [0, 1, 2].sort((a, b) => frac[3 * c + b] - frac[3 * c + a]);
    for (const s of splits) {
      const e = 3 * c + s;
      if (frac[e] === 0 || extra[e] === 1 || visited[s]) continue;
      visited[s] = true;
      if (need[s] > 0) {
        need[s]--;
        extra[e] = 1;
        return true;
      }
      // Split s is full: move a unit of another class out of s to make room.
      for (const other of classOrder) {
        if (extra[3 * other + s] === 1 && place(other, visited)) {
          extra[3 * other + s] = 0;
          extra[e] = 1;
          return true;
        }
      }
    }
    return false;
  };
  for (const c of classOrder) {
    for (let unit = 0; unit < left[c]; unit++) {
      if (!place(c, [false, false, false])) {
        throw new Error(`Cannot split: no stratified rounding found for class ${c} (a bug: please report it)`);
      }
    }
  }
  for (let e = 0; e < 3 * k; e++) counts[e] += extra[e];
  return counts;
}

/** x, or the integer it is meant to be when within floating-point error of one (0.6 · 5 = 2.9999999999999996). */
function snap(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - r) <= 1e-9 * Math.max(1, x) ? r : x;
}

/**
 * The three splits of `dataset` as datasets (copies; names `NAME/train`, `NAME/dev`, `NAME/test`),
 * from {@link splitIndices}.
 */
export function splitDataset(
  dataset: Dataset,
  options: SplitOptions,
): { readonly train: Dataset; readonly dev: Dataset; readonly test: Dataset } {
  const idx = splitIndices(dataset, options);
  return {
    train: take(dataset, idx.train, `${dataset.name}/train`),
    dev: take(dataset, idx.dev, `${dataset.name}/dev`),
    test: take(dataset, idx.test, `${dataset.name}/test`),
  };
}
