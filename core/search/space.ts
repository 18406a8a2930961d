/**
 * Hyperparameter search spaces: a record from a path into the job spec (e.g.
 * "optimizer.learningRate", "model.layers[0].units") to a dimension saying how to sample it.
 *
 * - `uniform {min, max}`: x uniform in [min, max].
 * - `logUniform {min, max}`: r uniform in [log10 min, log10 max], x = 10^r (learning rates, L2).
 * - `oneMinusLog {min, max}`: for β-like values in [0, 1): 1 − β log-uniform in
 *   [1 − max, 1 − min], so 0.9…0.999 spends as many samples in 0.9–0.99 as in 0.99–0.999.
 * - `int {min, max, log?}`: an integer in [min, max] (inclusive), uniform or log-uniform.
 * - `choice {values}`: one of the listed values, uniformly.
 */
import { isRecord, show } from "../validate.ts";
import { ValidationError } from "../validation-error.ts";
import { parsePath } from "./path.ts";

export interface UniformDimension {
  readonly type: "uniform";
  readonly min: number;
  readonly max: number;
}

export interface LogUniformDimension {
  readonly type: "logUniform";
  readonly min: number;
  readonly max: number;
}

export interface OneMinusLogDimension {
  readonly type: "oneMinusLog";
  readonly min: number;
  readonly max: number;
}

export interface IntDimension {
  readonly type: "int";
  readonly min: number;
  readonly max: number;
  /** Sample on a log scale (min must then be ≥ 1). Default false. */
  readonly log?: boolean;
}

export interface ChoiceDimension {
  readonly type: "choice";
  readonly values: readonly unknown[];
}

export type NumericDimension = UniformDimension | LogUniformDimension | OneMinusLogDimension | IntDimension;
export type Dimension = NumericDimension | ChoiceDimension;
export type DimensionType = Dimension["type"];

/** A search space: path → dimension. */
export type Space = Readonly<Record<string, Dimension>>;

/** One point of a space: path → value. */
export type Values = Record<string, unknown>;

export const DIMENSION_TYPES: readonly DimensionType[] = ["uniform", "logUniform", "oneMinusLog", "int", "choice"];

const FIELDS: Readonly<Record<DimensionType, readonly string[]>> = {
  uniform: ["type", "min", "max"],
  logUniform: ["type", "min", "max"],
  oneMinusLog: ["type", "min", "max"],
  int: ["type", "min", "max", "log"],
  choice: ["type", "values"],
};

const WHAT = "Cannot create space";

function checkNumber(dim: Record<string, unknown>, path: string, key: "min" | "max"): number {
  const value = dim[key];
  if (typeof value !== "number") {
    throw new ValidationError(`${path}.${key}`, `${WHAT}: '${path}.${key}' must be a number, current value is ${show(value)}`);
  }
  if (!Number.isFinite(value)) {
    throw new ValidationError(`${path}.${key}`, `${WHAT}: '${path}.${key}' must be finite, current value is ${value}`);
  }
  return value;
}

/** Validates one dimension at `path`; throws a ValidationError naming the field. */
export function validateDimension(dimension: unknown, path: string): Dimension {
  if (!isRecord(dimension)) {
    throw new ValidationError(path, `${WHAT}: '${path}' must be an object with a 'type', current value is ${show(dimension)}`);
  }
  const type = dimension.type;
  if (typeof type !== "string" || !(DIMENSION_TYPES as readonly string[]).includes(type)) {
    throw new ValidationError(
      `${path}.type`,
      `${WHAT}: '${path}.type' must be one of ${DIMENSION_TYPES.join(", ")}, current value is ${show(type)}`,
    );
  }
  const t = type as DimensionType;
  for (const key of Object.keys(dimension)) {
    if (!FIELDS[t].includes(key)) {
      throw new ValidationError(
        `${path}.${key}`,
        `${WHAT}: '${path}.${key}' is not a field of a ${t} dimension (expected ${FIELDS[t].join(", ")})`,
      );
    }
  }
  if (t === "choice") {
    const values = dimension.values;
    if (!Array.isArray(values)) {
      throw new ValidationError(`${path}.values`, `${WHAT}: '${path}.values' must be an array, current value is ${show(values)}`);
    }
    if (values.length === 0) {
      throw new ValidationError(`${path}.values`, `${WHAT}: '${path}.values' must not be empty, current value is []`);
    }
    values.forEach((v, i) => {
      if (v === undefined || typeof v === "function" || typeof v === "symbol" || typeof v === "bigint") {
        throw new ValidationError(`${path}.values[${i}]`, `${WHAT}: '${path}.values[${i}]' must be a JSON value, current value is ${show(v)}`);
      }
    });
    return dimension as unknown as ChoiceDimension;
  }
  const min = checkNumber(dimension, path, "min");
  const max = checkNumber(dimension, path, "max");
  if (t === "int") {
    for (const [key, value] of [["min", min], ["max", max]] as const) {
      if (!Number.isSafeInteger(value)) {
        throw new ValidationError(`${path}.${key}`, `${WHAT}: '${path}.${key}' must be an integer for int, current value is ${value}`);
      }
    }
    const log = dimension.log;
    if (log !== undefined && typeof log !== "boolean") {
      throw new ValidationError(`${path}.log`, `${WHAT}: '${path}.log' must be a boolean, current value is ${show(log)}`);
    }
    if (log === true && min < 1) {
      throw new ValidationError(`${path}.min`, `${WHAT}: '${path}.min' must be >= 1 for int with log, current value is ${min}`);
    }
    if (min > max) {
      throw new ValidationError(`${path}.max`, `${WHAT}: '${path}.max' must be >= '${path}.min' (${min}), current value is ${max}`);
    }
    return dimension as unknown as IntDimension;
  }
  if (t === "logUniform" && min <= 0) {
    throw new ValidationError(`${path}.min`, `${WHAT}: '${path}.min' must be > 0 for logUniform, current value is ${min}`);
  }
  if (t === "oneMinusLog") {
    if (min < 0) {
      throw new ValidationError(`${path}.min`, `${WHAT}: '${path}.min' must be >= 0 for oneMinusLog, current value is ${min}`);
    }
    if (max >= 1) {
      throw new ValidationError(`${path}.max`, `${WHAT}: '${path}.max' must be < 1 for oneMinusLog (1 - max must be > 0), current value is ${max}`);
    }
  }
  if (min >= max) {
    throw new ValidationError(`${path}.max`, `${WHAT}: '${path}.max' must be > '${path}.min' (${min}), current value is ${max}`);
  }
  return dimension as unknown as NumericDimension;
}

/**
 * Checks a search space and returns it typed: a non-empty object whose keys are valid paths
 * (see `parsePath`) and whose values are dimensions. Ranges must be finite with min < max (min ≤
 * max for int, whose bounds are integers); logUniform needs min > 0, int with log min ≥ 1,
 * oneMinusLog 0 ≤ min < max < 1; choice needs a non-empty array of JSON values; unknown dimension
 * types and unknown fields are refused. Errors are ValidationErrors naming the path, e.g. `Cannot
 * create space: 'optimizer.learningRate.min' must be > 0 for logUniform, current value is 0`
 * (field `optimizer.learningRate.min`; undefined when `space` itself is not an object).
 */
export function validateSpace(space: unknown): Space {
  if (!isRecord(space)) {
    throw new ValidationError(undefined, `${WHAT}: 'space' must be an object, current value is ${show(space)}`);
  }
  const paths = Object.keys(space);
  if (paths.length === 0) {
    throw new ValidationError(undefined, `${WHAT}: 'space' must have at least one dimension, current value is {}`);
  }
  for (const path of paths) {
    parsePath(path, WHAT);
    validateDimension(space[path], path);
  }
  return space as Space;
}
