/**
 * Builtin synthetic datasets for demos and tests: small 2-D classification problems, seeded, where a
 * linear model (logistic regression) underfits and a network with a hidden layer fits. All points lie
 * roughly in [-1.5, 1.5]², so they need no normalization. Example i has class i mod K, so classes are
 * balanced and interleaved.
 */
import type { Dataset } from "./dataset.ts";
import { Domain, Rng } from "../random.ts";

/** Options every synthetic set takes. */
export interface SyntheticOptions {
  /** Number of examples, in [1, 10⁷]; default 1,000. */
  readonly examples?: number;
  /** Standard deviation of the Gaussian noise added to each coordinate, ≥ 0; each set has its default. */
  readonly noise?: number;
  /** Seed, an integer in [0, 2^53); default 0. The same seed gives the same data. */
  readonly seed?: number;
}

export interface SpiralsOptions extends SyntheticOptions {
  /** Turns of each spiral, in (0, 10]; default 1.5. */
  readonly turns?: number;
}

export interface CirclesOptions extends SyntheticOptions {
  /** Radius of the inner circle relative to the outer one (radius 1), in (0, 1); default 0.5. */
  readonly factor?: number;
}

export interface BlobsOptions extends SyntheticOptions {
  /** Number of blobs (classes), in [2, 64]; default 3. */
  readonly classes?: number;
}

// Streams of Domain.data, one per set, so one seed gives unrelated noise in different sets.
const STREAM = { spirals: 1, circles: 2, xor: 3, moons: 4, blobs: 5 } as const;
const MAX_EXAMPLES = 10_000_000;

interface Common {
  examples: number;
  noise: number;
  rng: Rng;
}

function common(set: keyof typeof STREAM, options: SyntheticOptions, defaultNoise: number): Common {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`Cannot create ${set}: 'options' must be an object, current value is ${String(options)}`);
  }
  const examples = options.examples ?? 1000;
  if (typeof examples !== "number" || !Number.isInteger(examples) || examples < 1 || examples > MAX_EXAMPLES) {
    throw new RangeError(
      `Cannot create ${set}: 'examples' must be an integer in [1, ${MAX_EXAMPLES}], current value is ${String(examples)}`,
    );
  }
  const noise = options.noise ?? defaultNoise;
  if (typeof noise !== "number" || !Number.isFinite(noise) || noise < 0) {
    throw new RangeError(`Cannot create ${set}: 'noise' must be a finite number ≥ 0, current value is ${String(noise)}`);
  }
  const seed = options.seed ?? 0;
  if (typeof seed !== "number" || !Number.isSafeInteger(seed) || seed < 0) {
    throw new RangeError(`Cannot create ${set}: 'seed' must be an integer in [0, 2^53), current value is ${String(seed)}`);
  }
  return { examples, noise, rng: new Rng(seed, Domain.data, STREAM[set]) };
}

function inRange(set: string, field: string, value: unknown, min: number, max: number, open: boolean): number {
  const ok = typeof value === "number" && Number.isFinite(value) && value <= max && (open ? value > min : value >= min);
  if (!ok) {
    const interval = open ? `(${min}, ${max}]` : `[${min}, ${max}]`;
    throw new RangeError(`Cannot create ${set}: '${field}' must be in ${interval}, current value is ${String(value)}`);
  }
  return value as number;
}

/** Builds a 2-D dataset; `point(i, cls)` returns the noiseless point of example i. */
function build(
  name: string,
  classes: readonly string[],
  c: Common,
  point: (cls: number) => readonly [number, number],
): Dataset {
  const k = classes.length;
  const features = new Float32Array(c.examples * 2);
  const values = new Int32Array(c.examples);
  for (let i = 0; i < c.examples; i++) {
    const cls = i % k;
    const [x, y] = point(cls);
    features[2 * i] = x + c.noise * c.rng.normal();
    features[2 * i + 1] = y + c.noise * c.rng.normal();
    values[i] = cls;
  }
  return { name, features, shape: [c.examples, 2], labels: { kind: "classes", values, classes } };
}

/**
 * Two interleaved spirals (Lang and Witbrock's benchmark). For class c ∈ {0, 1}, with t = √u and u
 * uniform in [0, 1): r = t, θ = 2π·turns·t + c·π, point = r·(cos θ, sin θ) + noise·N(0, I).
 * Default noise 0.05. A linear model is near chance; it needs a network with hidden units.
 */
export function twoSpirals(options: SpiralsOptions = {}): Dataset {
  const c = common("spirals", options, 0.05);
  const turns = inRange("spirals", "turns", options.turns ?? 1.5, 0, 10, true);
  return build("spirals", ["0", "1"], c, (cls) => {
    const t = Math.sqrt(c.rng.uniform());
    const theta = 2 * Math.PI * turns * t + cls * Math.PI;
    return [t * Math.cos(theta), t * Math.sin(theta)];
  });
}

/**
 * Two concentric circles: class 0 on the circle of radius 1, class 1 on radius `factor`, angle
 * uniform: point = r·(cos θ, sin θ) + noise·N(0, I). Default noise 0.05. Not linearly separable
 * (a linear model is near chance), separable with one hidden layer.
 */
export function circles(options: CirclesOptions = {}): Dataset {
  const c = common("circles", options, 0.05);
  const factor = inRange("circles", "factor", options.factor ?? 0.5, 0, 1, true);
  if (factor === 1) {
    throw new RangeError(`Cannot create circles: 'factor' must be in (0, 1), current value is ${factor}`);
  }
  return build("circles", ["outer", "inner"], c, (cls) => {
    const theta = 2 * Math.PI * c.rng.uniform();
    const r = cls === 0 ? 1 : factor;
    return [r * Math.cos(theta), r * Math.sin(theta)];
  });
}

/**
 * XOR of the quadrants: a point uniform in [-1, 1]² whose class is 1 when exactly one coordinate is
 * negative (x·y < 0), then noise·N(0, I) added (default 0.05; labels are set before the noise). A
 * linear model is near chance.
 */
export function xor(options: SyntheticOptions = {}): Dataset {
  const c = common("xor", options, 0.05);
  return build("xor", ["0", "1"], c, (cls) => {
    // |x|, |y| uniform in (0, 1]; signs chosen so that sign(x)·sign(y) matches the class.
    const x = 1 - c.rng.uniform();
    const y = 1 - c.rng.uniform();
    const sx = c.rng.uniform() < 0.5 ? -1 : 1;
    const sy = cls === 1 ? -sx : sx;
    return [sx * x, sy * y];
  });
}

/**
 * Two interleaving half circles (as scikit-learn's make_moons), centred: class 0 is (cos θ, sin θ),
 * class 1 is (1 − cos θ, 0.5 − sin θ), θ uniform in [0, π), shifted by (−0.5, −0.25), plus
 * noise·N(0, I) (default 0.1). A linear model reaches about 85% accuracy; a hidden layer reaches ~100%.
 */
export function moons(options: SyntheticOptions = {}): Dataset {
  const c = common("moons", options, 0.1);
  return build("moons", ["0", "1"], c, (cls) => {
    const theta = Math.PI * c.rng.uniform();
    return cls === 0
      ? [Math.cos(theta) - 0.5, Math.sin(theta) - 0.25]
      : [0.5 - Math.cos(theta), 0.25 - Math.sin(theta)];
  });
}

/**
 * Gaussian blobs: class k is N(μ_k, noise²·I) with centres μ_k = (cos 2πk/K, sin 2πk/K) on the unit
 * circle, K = `classes` (default 3), noise default 0.25. Nearly linearly separable: the easy case,
 * where softmax regression already does well.
 */
export function blobs(options: BlobsOptions = {}): Dataset {
  const c = common("blobs", options, 0.25);
  const k = options.classes ?? 3;
  if (typeof k !== "number" || !Number.isInteger(k) || k < 2 || k > 64) {
    throw new RangeError(`Cannot create blobs: 'classes' must be an integer in [2, 64], current value is ${String(k)}`);
  }
  const names = Array.from({ length: k }, (_, i) => String(i));
  return build("blobs", names, c, (cls) => [Math.cos((2 * Math.PI * cls) / k), Math.sin((2 * Math.PI * cls) / k)]);
}

export interface SyntheticDatasetInfo {
  readonly name: string;
  readonly description: string;
  readonly generate: (options?: SyntheticOptions) => Dataset;
}

/** The builtin synthetic sets by name (the coordinator exposes them as `builtin:NAME`). */
export const syntheticDatasets: Readonly<Record<string, SyntheticDatasetInfo>> = Object.freeze({
  spirals: {
    name: "spirals",
    description: "Two interleaved spirals, 2 features, 2 classes: a linear model is at chance, a deep net fits",
    generate: twoSpirals,
  },
  circles: {
    name: "circles",
    description: "Two concentric circles, 2 features, 2 classes: not linearly separable, one hidden layer fits",
    generate: circles,
  },
  xor: {
    name: "xor",
    description: "XOR of the quadrants of [-1, 1]², 2 features, 2 classes: a linear model is at chance",
    generate: xor,
  },
  moons: {
    name: "moons",
    description: "Two interleaving half circles, 2 features, 2 classes: a linear model gets ~85%, a hidden layer ~100%",
    generate: moons,
  },
  blobs: {
    name: "blobs",
    description: "Three Gaussian blobs, 2 features, 3 classes: nearly linearly separable (the easy baseline)",
    generate: blobs,
  },
});

/**
 * The synthetic set `name` (a key of {@link syntheticDatasets}) generated with `options`. Throws a
 * RangeError naming the known sets when `name` is unknown.
 */
export function syntheticDataset(name: string, options: SyntheticOptions = {}): Dataset {
  const info = Object.hasOwn(syntheticDatasets, name) ? syntheticDatasets[name] : undefined;
  if (info === undefined) {
    const known = Object.keys(syntheticDatasets).map((k) => `'${k}'`).join(", ");
    throw new RangeError(
      `Cannot create a synthetic dataset: 'name' must be one of ${known}, current value is ${JSON.stringify(name)}`,
    );
  }
  return info.generate(options);
}
