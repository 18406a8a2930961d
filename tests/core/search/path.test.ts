import { ValidationError } from "../../../core/validation-error.ts";
import { describe, expect, test } from "vitest";
import { applyValues, getPath, parsePath, setPath } from "../../../core/search/mod.ts";

const spec = {
  name: "mnist-mlp",
  model: {
    input: [784],
    layers: [
      { type: "dense", units: 128, init: "he" },
      { type: "relu" },
      { type: "dense", units: 10, init: "xavier" },
    ],
  },
  optimizer: { type: "adam", learningRate: 1e-3, beta1: 0.9 },
  regularization: { l2: 1e-4 },
};

describe("parsePath", () => {
  test("keys and indices", () => {
    expect(parsePath("model.layers[0].units")).toEqual(["model", "layers", 0, "units"]);
    expect(parsePath("a[0][12].b-c")).toEqual(["a", 0, 12, "b-c"]);
    expect(parsePath("seed")).toEqual(["seed"]);
  });

  test.each(["", ".a", "a.", "a..b", "a[01]", "a[-1]", "a[x]", "[0]", "a[0", "a]", "a.__proto__", "constructor.x", "a.prototype"])(
    "refuses %j",
    (path) => {
      expect(() => parsePath(path)).toThrow(ValidationError);
      expect(() => parsePath(path)).toThrow(`'${path}' is not a valid path`);
    },
  );

  test("refuses a non-string", () => {
    expect(() => parsePath(3 as never)).toThrow(ValidationError);
  });
});

describe("getPath", () => {
  test("reads nested keys and indices", () => {
    expect(getPath(spec, "model.layers[0].units")).toBe(128);
    expect(getPath(spec, "model.input[0]")).toBe(784);
    expect(getPath(spec, "optimizer")).toBe(spec.optimizer);
  });

  test("errors name the path", () => {
    expect(() => getPath(spec, "model.layers[3].units")).toThrow(
      new ValidationError("model.layers[3]", "Cannot get 'model.layers[3].units': 'model.layers[3]' does not exist ('model.layers' has 3 elements)"),
    );
    expect(() => getPath(spec, "optimizer.learningrate")).toThrow(
      new ValidationError("optimizer.learningrate", "Cannot get 'optimizer.learningrate': 'optimizer.learningrate' does not exist"),
    );
    expect(() => getPath(spec, "model.layers.units")).toThrow(ValidationError);
    expect(() => getPath(spec, "name[0]")).toThrow(/'name' must be an array to take \[0\]/);
    expect(() => getPath(spec, "model.input[0].x")).toThrow(/'model.input\[0\]' must be an object to take 'x'/);
    expect(() => getPath(spec, "toString")).toThrow(/'toString' does not exist/);
  });
});

describe("setPath and applyValues", () => {
  test("returns a deep copy with the value set; the input is unchanged", () => {
    const before = JSON.stringify(spec);
    const out = setPath(spec, "model.layers[0].units", 256);
    expect(out.model.layers[0].units).toBe(256);
    expect(out.model.layers[2].units).toBe(10);
    expect(JSON.stringify(spec)).toBe(before);
    expect(out.model).not.toBe(spec.model);
  });

  test("object values are copied", () => {
    const value = { l2: 1e-3 };
    const out = setPath(spec, "regularization", value);
    expect(out.regularization).toEqual(value);
    expect(out.regularization).not.toBe(value);
  });

  test("the path must exist unless create allows a new last key", () => {
    expect(() => setPath(spec, "optimizer.beta2", 0.999)).toThrow(
      new ValidationError("optimizer.beta2", "Cannot set 'optimizer.beta2': 'optimizer.beta2' does not exist"),
    );
    expect((setPath(spec, "optimizer.beta2", 0.999, { create: true }).optimizer as Record<string, unknown>).beta2).toBe(0.999);
    expect(() => setPath(spec, "schedule.decayRate", 0.1, { create: true })).toThrow(/'schedule' does not exist/);
    expect(() => setPath(spec, "model.layers[3]", {}, { create: true })).toThrow(/'model.layers\[3\]' does not exist/);
  });

  test("refuses prototype keys", () => {
    expect(() => setPath({}, "__proto__.polluted", 1, { create: true })).toThrow(ValidationError);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test("applyValues sets every path of a trial on one copy", () => {
    const out = applyValues(spec, {
      "optimizer.learningRate": 0.01,
      "optimizer.beta1": 0.99,
      "model.layers[2].units": 5,
    });
    expect(out.optimizer).toEqual({ type: "adam", learningRate: 0.01, beta1: 0.99 });
    expect(out.model.layers[2].units).toBe(5);
    expect(spec.optimizer.learningRate).toBe(1e-3);
    expect(() => applyValues(spec, { "optimizer.learningRate": 0.01, "model.layer[0].units": 3 })).toThrow(
      "Cannot set 'model.layer[0].units': 'model.layer' does not exist",
    );
  });
});
