import { ValidationError } from "../../../core/validation-error.ts";
import { describe, expect, test } from "vitest";
import { validateSpace } from "../../../core/search/mod.ts";

const good = {
  "optimizer.learningRate": { type: "logUniform", min: 1e-5, max: 10 },
  "optimizer.beta1": { type: "oneMinusLog", min: 0.9, max: 0.999 },
  "model.layers[0].units": { type: "int", min: 32, max: 512 },
  "model.layers[1].units": { type: "int", min: 8, max: 8, log: true },
  "regularization.l2": { type: "choice", values: [0, 1e-4, 1e-3] },
  "dataset.augment.shift": { type: "uniform", min: -1, max: 1 },
};

describe("validateSpace", () => {
  test("accepts the design's example and returns it", () => {
    expect(validateSpace(good)).toBe(good);
  });

  test.each([
    [{ p: { type: "logUniform", min: 0, max: 1 } }, ValidationError,
      "Cannot create space: 'p.min' must be > 0 for logUniform, current value is 0"],
    [{ "optimizer.learningRate": { type: "logUniform", min: -1, max: 1 } }, ValidationError,
      "Cannot create space: 'optimizer.learningRate.min' must be > 0 for logUniform, current value is -1"],
    [{ p: { type: "uniform", min: 1, max: 0 } }, ValidationError,
      "Cannot create space: 'p.max' must be > 'p.min' (1), current value is 0"],
    [{ p: { type: "uniform", min: 1, max: 1 } }, ValidationError, "'p.max' must be > 'p.min' (1), current value is 1"],
    [{ p: { type: "logUniform", min: 1, max: 0.5 } }, ValidationError, "'p.max' must be > 'p.min' (1)"],
    [{ p: { type: "int", min: 5, max: 4 } }, ValidationError, "'p.max' must be >= 'p.min' (5), current value is 4"],
    [{ p: { type: "int", min: 0.5, max: 4 } }, ValidationError, "'p.min' must be an integer for int, current value is 0.5"],
    [{ p: { type: "int", min: 0, max: 4, log: true } }, ValidationError, "'p.min' must be >= 1 for int with log, current value is 0"],
    [{ p: { type: "int", min: 1, max: 4, log: "yes" } }, ValidationError, "'p.log' must be a boolean"],
    [{ p: { type: "oneMinusLog", min: 0.9, max: 1 } }, ValidationError,
      "'p.max' must be < 1 for oneMinusLog (1 - max must be > 0), current value is 1"],
    [{ p: { type: "oneMinusLog", min: -0.1, max: 0.9 } }, ValidationError, "'p.min' must be >= 0 for oneMinusLog"],
    [{ p: { type: "oneMinusLog", min: 0.99, max: 0.9 } }, ValidationError, "'p.max' must be > 'p.min' (0.99)"],
    [{ p: { type: "choice", values: [] } }, ValidationError, "'p.values' must not be empty"],
    [{ p: { type: "choice", values: "abc" } }, ValidationError, "'p.values' must be an array"],
    [{ p: { type: "choice", values: [1, undefined] } }, ValidationError, "'p.values[1]' must be a JSON value"],
    [{ p: { type: "normal", min: 0, max: 1 } }, ValidationError,
      "'p.type' must be one of uniform, logUniform, oneMinusLog, int, choice, current value is \"normal\""],
    [{ p: { min: 0, max: 1 } }, ValidationError, "'p.type' must be one of"],
    [{ p: { type: "uniform", min: 0, max: 1, log: true } }, ValidationError,
      "'p.log' is not a field of a uniform dimension (expected type, min, max)"],
    [{ p: { type: "uniform", min: "0", max: 1 } }, ValidationError, "'p.min' must be a number, current value is \"0\""],
    [{ p: { type: "uniform", min: 0, max: Infinity } }, ValidationError, "'p.max' must be finite, current value is Infinity"],
    [{ p: { type: "uniform", min: NaN, max: 1 } }, ValidationError, "'p.min' must be finite, current value is NaN"],
    [{ p: 3 }, ValidationError, "'p' must be an object with a 'type', current value is 3"],
    [{ "model..units": { type: "uniform", min: 0, max: 1 } }, ValidationError, "'model..units' is not a valid path"],
    [{ "__proto__.x": { type: "uniform", min: 0, max: 1 } }, ValidationError, "the key '__proto__' is not allowed"],
    [{}, ValidationError, "'space' must have at least one dimension"],
    [[], ValidationError, "'space' must be an object"],
    [null, ValidationError, "'space' must be an object, current value is null"],
  ])("refuses %j", (space, type, message) => {
    expect(() => validateSpace(space)).toThrow(type);
    expect(() => validateSpace(space)).toThrow(message);
  });
});
