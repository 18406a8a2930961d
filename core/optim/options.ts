/** Internal: up-front validation of optimizer hyperparameters (messages quote the value). */
import { expectNumber, isRecord, show } from "../validate.ts";
import { ValidationError } from "../validation-error.ts";

/** Asserts an options object; returns it as a record. */
export function expectOptions(options: unknown, what: string): Record<string, unknown> {
  if (!isRecord(options)) {
    throw new ValidationError(undefined, `Cannot ${what}: options must be an object, current value is ${show(options)}`);
  }
  return options;
}

/** learningRate > 0 and finite. */
export function expectLearningRate(value: unknown, what: string): number {
  return expectNumber(value, "learningRate", what, { min: 0, minExclusive: true });
}

/** A decay rate β in [0, 1); `fallback` when undefined. */
export function expectBeta(value: unknown, field: string, what: string, fallback: number): number {
  return expectNumber(value ?? fallback, field, what, { min: 0, max: 1, maxExclusive: true });
}

/** ε > 0 and finite; `fallback` when undefined. */
export function expectEpsilon(value: unknown, what: string, fallback: number): number {
  return expectNumber(value ?? fallback, "epsilon", what, { min: 0, minExclusive: true });
}

/** A boolean; `fallback` when undefined. */
export function expectBoolean(value: unknown, field: string, what: string, fallback: boolean): boolean {
  const v = value ?? fallback;
  if (typeof v !== "boolean") {
    throw new ValidationError(field, `Cannot ${what}: '${field}' must be a boolean, current value is ${show(value)}`);
  }
  return v;
}
