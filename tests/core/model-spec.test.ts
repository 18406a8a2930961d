import { ValidationError } from "../../core/validation-error.ts";
import { describe, expect, it } from "vitest";
import { parseModelSpec, planModel } from "../../core/model/spec.ts";

const designExample = {
  input: [784],
  layers: [
    { type: "dense", units: 128, init: "he" },
    { type: "batchnorm", momentum: 0.9, epsilon: 1e-5 },
    { type: "relu" },
    { type: "dropout", keepProb: 0.8 },
    { type: "dense", units: 10, init: "xavier" },
  ],
  output: "softmax",
};

describe("model spec", () => {
  it("accepts the DESIGN.md example and plans its parameters", () => {
    const plan = planModel(parseModelSpec(designExample));
    // A dense layer followed by batch norm has no bias: β plays that role.
    expect(plan.parameters.map((p) => [p.name, p.shape])).toEqual([
      ["dense0.W", [784, 128]],
      ["batchnorm1.gamma", [128]],
      ["batchnorm1.beta", [128]],
      ["dense4.W", [128, 10]],
      ["dense4.b", [10]],
    ]);
    expect(plan.batchNormState.map((p) => p.name)).toEqual(["batchnorm1.mean", "batchnorm1.variance"]);
    // 784·128 + 2·128 + 128·10 + 10
    expect(plan.parameterCount).toBe(100352 + 256 + 1280 + 10);
    expect(plan.outputs).toBe(10);
    expect(plan.inputSize).toBe(784);
  });

  it("fills documented defaults", () => {
    const spec = parseModelSpec({
      input: [28, 28, 1],
      layers: [
        { type: "dense", units: 4 },
        { type: "batchnorm" },
        { type: "relu" },
        { type: "dense", units: 3 },
        { type: "leakyRelu" },
        { type: "dense", units: 2 },
      ],
      output: "softmax",
    });
    expect(spec.layers[0]).toEqual({ type: "dense", units: 4, init: "he" });
    expect(spec.layers[1]).toEqual({ type: "batchnorm", momentum: 0.9, epsilon: 1e-5 });
    expect(spec.layers[4]).toEqual({ type: "leakyRelu", alpha: 0.01 });
    expect(spec.layers[5]).toEqual({ type: "dense", units: 2, init: "xavier" });
    expect(planModel(spec).inputSize).toBe(784);
  });

  const bad: Array<[string, unknown, RegExp, typeof ValidationError]> = [
    ["not an object", 5, /'model' must be an object, current value is 5/, ValidationError],
    ["unknown field", { ...designExample, optimizer: {} }, /'model.optimizer' is not a known field/, ValidationError],
    ["unknown layer field", { ...designExample, layers: [{ type: "dense", units: 2, size: 3 }] }, /'model.layers\[0\].size' is not a known field/, ValidationError],
    ["unknown layer type", { ...designExample, layers: [{ type: "conv", units: 2 }] }, /'model.layers\[0\].type' must be one of .*current value is "conv"/, ValidationError],
    ["zero units", { ...designExample, layers: [{ type: "dense", units: 0 }] }, /'model.layers\[0\].units' must be in \[1, 4096\], current value is 0/, ValidationError],
    ["huge layer", { ...designExample, layers: [{ type: "dense", units: 100000 }] }, /'model.layers\[0\].units' must be in \[1, 4096\], current value is 100000/, ValidationError],
    ["fractional units", { ...designExample, layers: [{ type: "dense", units: 2.5 }] }, /'model.layers\[0\].units' must be an integer, current value is 2.5/, ValidationError],
    ["string units", { ...designExample, layers: [{ type: "dense", units: "10" }] }, /'model.layers\[0\].units' must be a finite number, current value is "10"/, ValidationError],
    ["keepProb 0", { ...designExample, layers: [{ type: "dropout", keepProb: 0 }, { type: "dense", units: 2 }] }, /'model.layers\[0\].keepProb' must be in \(0, 1\], current value is 0/, ValidationError],
    ["momentum 1", { ...designExample, layers: [{ type: "batchnorm", momentum: 1 }, { type: "dense", units: 2 }] }, /'model.layers\[0\].momentum' must be in \[0, 1\), current value is 1/, ValidationError],
    ["bad init", { ...designExample, layers: [{ type: "dense", units: 2, init: "glorot" }] }, /'model.layers\[0\].init' must be one of "zeros", "random", "xavier", "he", current value is "glorot"/, ValidationError],
    ["bad output", { ...designExample, output: "tanh" }, /'model.output' must be one of/, ValidationError],
    ["empty input", { ...designExample, input: [] }, /'model.input' must be an array/, ValidationError],
    ["last layer not dense", { ...designExample, layers: [{ type: "dense", units: 2 }, { type: "relu" }] }, /'model.layers\[1\]' must be a dense layer/, ValidationError],
    ["softmax with one unit", { ...designExample, layers: [{ type: "dense", units: 1 }] }, /'model.layers\[0\].units' must be ≥ 2 for a softmax output, current value is 1/, ValidationError],
    ["sigmoid with two units", { ...designExample, output: "sigmoid", layers: [{ type: "dense", units: 2 }] }, /must be 1 for a sigmoid \(binary\) output, current value is 2/, ValidationError],
    ["too many layers", { ...designExample, layers: Array.from({ length: 65 }, () => ({ type: "relu" })) }, /'model.layers' has 65 layers, more than the limit of 64/, ValidationError],
    [
      "too many parameters",
      { input: [4096], layers: [{ type: "dense", units: 4096 }, { type: "dense", units: 4096 }], output: "softmax" },
      /'model' has 33562624 parameters, more than the limit of 4194304/,
      ValidationError,
    ],
  ];
  for (const [name, value, message, type] of bad) {
    it(`rejects ${name} with an error naming the field`, () => {
      expect(() => parseModelSpec(value)).toThrow(message);
      expect(() => parseModelSpec(value)).toThrow(type);
    });
  }

  it("prefixes the field path it is given", () => {
    expect(() => parseModelSpec({ ...designExample, layers: [{ type: "dense", units: -1 }] }, { path: "spec.model" }))
      .toThrow(/'spec.model.layers\[0\].units'/);
  });

  it("applies custom limits", () => {
    expect(() => parseModelSpec(designExample, { limits: { maxUnits: 64, maxLayers: 64, maxParameters: 1e7, maxInputFeatures: 1e6 } }))
      .toThrow(/'model.layers\[0\].units' must be in \[1, 64\], current value is 128/);
  });
});
