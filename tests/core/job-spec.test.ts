import { describe, expect, it } from "vitest";
import { parseJobSpec } from "../../core/job/spec.ts";

const designExample = {
  name: "mnist-mlp",
  dataset: { id: "builtin:mnist", split: "auto", normalize: "standardize", augment: { flipHorizontal: false, shift: 2 } },
  model: {
    input: [784],
    layers: [
      { type: "dense", units: 128, init: "he" },
      { type: "batchnorm", momentum: 0.9, epsilon: 1e-5 },
      { type: "relu" },
      { type: "dropout", keepProb: 0.8 },
      { type: "dense", units: 10, init: "xavier" },
    ],
    output: "softmax",
  },
  regularization: { l2: 1e-4 },
  optimizer: { type: "adam", learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 },
  schedule: { type: "inverseTime", decayRate: 0.1 },
  batchSize: 256,
  epochs: 10,
  chunkSize: 32,
  earlyStopping: { metric: "devLoss", patience: 3, restoreBest: true },
  workers: { urls: ["http://127.0.0.1:8787"], backend: "wasm", timeoutMs: 10000, retries: 3 },
  seed: 42,
  deterministic: true,
};

describe("job spec", () => {
  it("accepts the DESIGN.md example", () => {
    const spec = parseJobSpec(designExample);
    expect(spec.dataset).toEqual({ id: "builtin:mnist", split: "auto", normalize: "standardize", augment: { flipHorizontal: false, shift: 2, noise: 0 } });
    expect(spec.earlyStopping).toEqual({ metric: "devLoss", patience: 3, minDelta: 0, restoreBest: true });
    expect(spec.workers.urls).toEqual(["http://127.0.0.1:8787"]);
    expect(spec.ensemble).toEqual({ members: 1 });
  });

  it("fills the documented defaults", () => {
    const spec = parseJobSpec({ dataset: { id: "builtin:spirals" }, model: { input: [2], layers: [{ type: "dense", units: 2 }], output: "softmax" } });
    expect(spec).toMatchObject({
      name: "job",
      dataset: { split: "auto", normalize: "standardize", augment: null },
      regularization: {},
      optimizer: { type: "adam", learningRate: 1e-3 },
      schedule: { type: "constant" },
      batchSize: 64,
      epochs: 10,
      chunkSize: 32,
      earlyStopping: null,
      workers: { urls: [], backend: "wasm", timeoutMs: 10000, retries: 3 },
      seed: 42,
      deterministic: true,
      humanError: 0,
      checkpointEvery: 0,
    });
  });

  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ["an unknown field", { ...designExample, learningRate: 1 }, /'job.learningRate' is not a known field/],
    ["a negative batch size", { ...designExample, batchSize: -5 }, /'batchSize' must be in \[1, 65536\], current value is -5/],
    ["a string epoch count", { ...designExample, epochs: "10" }, /'epochs' must be a finite number, current value is "10"/],
    ["a huge layer", { ...designExample, model: { ...designExample.model, layers: [{ type: "dense", units: 1e6 }] } }, /'model.layers\[0\].units' must be in \[1, 4096\]/],
    ["a missing dataset", { ...designExample, dataset: undefined }, /'dataset' is required/],
    ["a bad split", { ...designExample, dataset: { id: "x", split: { train: 0.5, dev: 0.2, test: 0.2 } } }, /'dataset.split' fractions must sum to 1, current sum is 0.9/],
    ["an unknown optimizer", { ...designExample, optimizer: { type: "adagrad", learningRate: 1 } }, /'optimizer.type' must be one of/],
    ["a bad beta1", { ...designExample, optimizer: { type: "adam", learningRate: 1e-3, beta1: 1.2 } }, /'beta1' must be in \[0, 1\), current value is 1.2/],
    ["a bad schedule field", { ...designExample, schedule: { type: "inverseTime", rate: 1 } }, /'schedule.rate' is not a known field/],
    ["a non-URL worker", { ...designExample, workers: { urls: ["ftp://x"] } }, /'workers.urls\[0\]' must be an http\(s\) URL/],
    ["an unknown backend", { ...designExample, workers: { backend: "cuda" } }, /'workers.backend' must be one of "wasm", "webgpu", "cpu"/],
    ["a bad early-stopping metric", { ...designExample, earlyStopping: { metric: "trainLoss" } }, /'earlyStopping.metric' must be one of "devLoss", "devError"/],
    ["too many ensemble members", { ...designExample, ensemble: { members: 100 } }, /'ensemble.members' must be in \[1, 16\], current value is 100/],
    ["a human error above 1", { ...designExample, humanError: 1.5 }, /'humanError' must be in \[0, 1\], current value is 1.5/],
    ["a non-boolean deterministic", { ...designExample, deterministic: "yes" }, /'deterministic' must be true or false, current value is "yes"/],
  ];
  for (const [what, value, message] of cases) {
    it(`rejects ${what}, naming the field`, () => expect(() => parseJobSpec(value)).toThrow(message));
  }
});
