/**
 * The model spec of a job (DESIGN.md, "Job spec"): an input shape, a list of layers and an output
 * head, validated into a resolved plan with named parameters.
 *
 * Conventions (row-major, examples in rows, unlike the course's column vectors):
 * - a dense layer computes Z = A·W + b with W of shape [nIn, nOut] and b of shape [nOut];
 * - a dense layer directly followed by batch norm has no bias (β of the batch norm plays its role);
 * - the last layer is a dense layer producing the logits; `output` names the head applied to them:
 *   `softmax` (categorical cross-entropy, ≥ 2 units), `sigmoid` (binary cross-entropy, 1 unit) or
 *   `linear` (mean squared error over the units).
 * Parameter names: `dense{i}.W`, `dense{i}.b`, `batchnorm{i}.gamma`, `batchnorm{i}.beta`, with i the
 * index of the layer in `layers`; batch-norm running statistics are `batchnorm{i}.mean` and
 * `batchnorm{i}.variance`.
 */
import { DEFAULT_MODEL_LIMITS, type ModelLimits } from "../limits.ts";
import { expectEnum, expectNumber, expectRecord, isRecord, show } from "../validate.ts";
import { ValidationError } from "../validation-error.ts";

export type Initializer = "zeros" | "random" | "xavier" | "he";
export type Activation = "relu" | "leakyRelu" | "tanh" | "sigmoid" | "linear";
export type OutputHead = "sigmoid" | "softmax" | "linear";

export interface DenseLayer {
  readonly type: "dense";
  readonly units: number;
  readonly init: Initializer;
}
export interface BatchNormLayer {
  readonly type: "batchnorm";
  /** Weight of the old running statistic: running = momentum·running + (1 − momentum)·batch. */
  readonly momentum: number;
  readonly epsilon: number;
}
export interface DropoutLayer {
  readonly type: "dropout";
  /** Probability that a unit is kept (inverted dropout: kept units are divided by it). */
  readonly keepProb: number;
}
export interface ActivationLayer {
  readonly type: Activation;
  /** Slope for negative inputs (leakyRelu only). */
  readonly alpha?: number;
}
export type Layer = DenseLayer | BatchNormLayer | DropoutLayer | ActivationLayer;

export interface ModelSpec {
  readonly input: readonly number[];
  readonly layers: readonly Layer[];
  readonly output: OutputHead;
}

/** A parameter tensor of the model: its name and shape. */
export interface ParameterInfo {
  readonly name: string;
  readonly shape: readonly number[];
  /** Layer index in `spec.layers`. */
  readonly layer: number;
  /** `W` of dense layers: the only parameters that L2/L1 regularization applies to. */
  readonly isWeight: boolean;
}

/** A validated spec with everything derived from it that the engine needs. */
export interface ModelPlan {
  readonly spec: ModelSpec;
  /** Number of input features (product of `spec.input`). */
  readonly inputSize: number;
  /** Units of each layer's output, by layer index. */
  readonly widths: readonly number[];
  /** Number of outputs (units of the last dense layer). */
  readonly outputs: number;
  readonly parameters: readonly ParameterInfo[];
  /** Running-statistics tensors of the batch-norm layers. */
  readonly batchNormState: readonly ParameterInfo[];
  readonly parameterCount: number;
}

export const LAYER_TYPES = ["dense", "batchnorm", "dropout", "relu", "leakyRelu", "tanh", "sigmoid", "linear"] as const;
const ACTIVATIONS: readonly string[] = ["relu", "leakyRelu", "tanh", "sigmoid", "linear"];
export const INITIALIZERS: readonly Initializer[] = ["zeros", "random", "xavier", "he"];
export const OUTPUT_HEADS: readonly OutputHead[] = ["sigmoid", "softmax", "linear"];
const WHAT = "build model";

/**
 * Validates a model spec (a parsed JSON value) and fills in defaults: dense `init` defaults to
 * `he` when the next non-dropout, non-batchnorm layer is relu/leakyRelu and to `xavier` otherwise;
 * batch norm `momentum` 0.9 and `epsilon` 1e-5; leakyRelu `alpha` 0.01. Throws a
 * ValidationError naming the field (prefixed by `path`, default `model`) and quoting the value.
 */
export function parseModelSpec(
  value: unknown,
  options: { path?: string; limits?: ModelLimits } = {},
): ModelSpec {
  const path = options.path ?? "model";
  const limits = options.limits ?? DEFAULT_MODEL_LIMITS;
  const raw = expectRecord(value, path, ["input", "layers", "output"], WHAT);

  if (!Array.isArray(raw.input) || raw.input.length === 0 || raw.input.length > 4) {
    throw new ValidationError(
      `${path}.input`,
      `Cannot ${WHAT}: '${path}.input' must be an array of 1 to 4 positive integers, current value is ${show(raw.input)}`,
    );
  }
  const input = raw.input.map((d, i) =>
    expectNumber(d, `${path}.input[${i}]`, WHAT, { min: 1, integer: true, max: limits.maxInputFeatures }),
  );
  const inputSize = input.reduce((a, b) => a * b, 1);
  if (inputSize > limits.maxInputFeatures) {
    throw new ValidationError(
      `${path}.input`,
      `Cannot ${WHAT}: '${path}.input' has ${inputSize} features, more than the limit of ${limits.maxInputFeatures}`,
    );
  }

  if (!Array.isArray(raw.layers) || raw.layers.length === 0) {
    throw new ValidationError(`${path}.layers`, `Cannot ${WHAT}: '${path}.layers' must be a non-empty array, current value is ${show(raw.layers)}`);
  }
  if (raw.layers.length > limits.maxLayers) {
    throw new ValidationError(
      `${path}.layers`,
      `Cannot ${WHAT}: '${path}.layers' has ${raw.layers.length} layers, more than the limit of ${limits.maxLayers}`,
    );
  }
  const rawLayers: unknown[] = raw.layers;
  const layers = rawLayers.map((layer, i) => parseLayer(layer, `${path}.layers[${i}]`, limits, rawLayers, i));
  const output = expectEnum(raw.output, `${path}.output`, WHAT, OUTPUT_HEADS);

  const spec: ModelSpec = { input, layers, output };
  planModel(spec, { path, limits });
  return spec;
}

function parseLayer(value: unknown, path: string, limits: ModelLimits, all: unknown[], index: number): Layer {
  if (!isRecord(value)) {
    throw new ValidationError(path, `Cannot ${WHAT}: '${path}' must be an object with a 'type', current value is ${show(value)}`);
  }
  const type = expectEnum(value.type, `${path}.type`, WHAT, LAYER_TYPES);
  switch (type) {
    case "dense": {
      const raw = expectRecord(value, path, ["type", "units", "init"], WHAT);
      const units = expectNumber(raw.units, `${path}.units`, WHAT, { min: 1, max: limits.maxUnits, integer: true });
      const init = raw.init === undefined ? defaultInit(all, index) : expectEnum(raw.init, `${path}.init`, WHAT, INITIALIZERS);
      return { type, units, init };
    }
    case "batchnorm": {
      const raw = expectRecord(value, path, ["type", "momentum", "epsilon"], WHAT);
      const momentum = raw.momentum === undefined
        ? 0.9
        : expectNumber(raw.momentum, `${path}.momentum`, WHAT, { min: 0, max: 1, maxExclusive: true });
      const epsilon = raw.epsilon === undefined
        ? 1e-5
        : expectNumber(raw.epsilon, `${path}.epsilon`, WHAT, { min: 0, minExclusive: true, max: 1 });
      return { type, momentum, epsilon };
    }
    case "dropout": {
      const raw = expectRecord(value, path, ["type", "keepProb"], WHAT);
      const keepProb = expectNumber(raw.keepProb, `${path}.keepProb`, WHAT, { min: 0, minExclusive: true, max: 1 });
      return { type, keepProb };
    }
    case "leakyRelu": {
      const raw = expectRecord(value, path, ["type", "alpha"], WHAT);
      const alpha = raw.alpha === undefined ? 0.01 : expectNumber(raw.alpha, `${path}.alpha`, WHAT, { min: 0, max: 1 });
      return { type, alpha };
    }
    default: {
      expectRecord(value, path, ["type"], WHAT);
      return { type };
    }
  }
}

function defaultInit(all: unknown[], index: number): Initializer {
  for (let j = index + 1; j < all.length; j++) {
    const t = (all[j] as { type?: unknown } | null)?.type;
    if (t === "batchnorm" || t === "dropout") continue;
    return t === "relu" || t === "leakyRelu" ? "he" : "xavier";
  }
  return "xavier";
}

/**
 * Derives the parameter names and shapes of a spec and checks its structure: the last layer must
 * be dense, the output head must fit its units, and the parameter count must stay within limits.
 */
export function planModel(spec: ModelSpec, options: { path?: string; limits?: ModelLimits } = {}): ModelPlan {
  const path = options.path ?? "model";
  const limits = options.limits ?? DEFAULT_MODEL_LIMITS;
  const inputSize = spec.input.reduce((a, b) => a * b, 1);
  const widths: number[] = [];
  const parameters: ParameterInfo[] = [];
  const batchNormState: ParameterInfo[] = [];
  let width = inputSize;
  let count = 0;
  spec.layers.forEach((layer, i) => {
    if (layer.type === "dense") {
      parameters.push({ name: `dense${i}.W`, shape: [width, layer.units], layer: i, isWeight: true });
      count += width * layer.units;
      if (spec.layers[i + 1]?.type !== "batchnorm") {
        parameters.push({ name: `dense${i}.b`, shape: [layer.units], layer: i, isWeight: false });
        count += layer.units;
      }
      width = layer.units;
    } else if (layer.type === "batchnorm") {
      if (width > limits.maxUnits) {
        throw new ValidationError(`${path}.layers[${i}]`, `Cannot ${WHAT}: '${path}.layers[${i}]' normalizes ${width} units, more than ${limits.maxUnits}`);
      }
      parameters.push({ name: `batchnorm${i}.gamma`, shape: [width], layer: i, isWeight: false });
      parameters.push({ name: `batchnorm${i}.beta`, shape: [width], layer: i, isWeight: false });
      batchNormState.push({ name: `batchnorm${i}.mean`, shape: [width], layer: i, isWeight: false });
      batchNormState.push({ name: `batchnorm${i}.variance`, shape: [width], layer: i, isWeight: false });
      count += 2 * width;
    } else if (!ACTIVATIONS.includes(layer.type) && layer.type !== "dropout") {
      throw new ValidationError(`${path}.layers[${i}].type`, `Cannot ${WHAT}: '${path}.layers[${i}].type' is unknown, current value is ${show(layer.type)}`);
    }
    widths.push(width);
  });
  const last = spec.layers[spec.layers.length - 1];
  if (last.type !== "dense") {
    throw new ValidationError(
      `${path}.layers[${spec.layers.length - 1}]`,
      `Cannot ${WHAT}: '${path}.layers[${spec.layers.length - 1}]' must be a dense layer (the output head '${spec.output}' is applied to its logits), current type is ${show(last.type)}`,
    );
  }
  if (spec.output === "softmax" && last.units < 2) {
    throw new ValidationError(
      `${path}.layers[${spec.layers.length - 1}].units`,
      `Cannot ${WHAT}: '${path}.layers[${spec.layers.length - 1}].units' must be ≥ 2 for a softmax output, current value is ${last.units}`,
    );
  }
  if (spec.output === "sigmoid" && last.units !== 1) {
    throw new ValidationError(
      `${path}.layers[${spec.layers.length - 1}].units`,
      `Cannot ${WHAT}: '${path}.layers[${spec.layers.length - 1}].units' must be 1 for a sigmoid (binary) output, current value is ${last.units}`,
    );
  }
  if (count > limits.maxParameters) {
    throw new ValidationError(path, `Cannot ${WHAT}: '${path}' has ${count} parameters, more than the limit of ${limits.maxParameters}`);
  }
  return { spec, inputSize, widths, outputs: last.units, parameters, batchNormState, parameterCount: count };
}
