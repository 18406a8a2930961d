// The model engine under Deno: gradient check of a net with every layer type (run by `deno task test`).
import { gradientCheck, initParameters, parseModelSpec, planModel, tf, useBackend } from "../../../core/mod.ts";
import { randomBatch } from "../../helpers/batches.ts";

Deno.test("gradients match float64 finite differences under Deno (wasm)", async () => {
  await useBackend("wasm");
  const plan = planModel(parseModelSpec({
    input: [6],
    layers: [
      { type: "dense", units: 8 }, { type: "batchnorm" }, { type: "tanh" }, { type: "dropout", keepProb: 0.8 },
      { type: "dense", units: 6 }, { type: "leakyRelu" }, { type: "dense", units: 5 }, { type: "sigmoid" },
      { type: "dense", units: 3 },
    ],
    output: "softmax",
  }));
  const before = tf.memory().numTensors;
  const report = await gradientCheck(plan, initParameters(plan, 2), randomBatch(plan, 20, 5), {
    chunkSize: 8,
    seed: 1,
    step: 3,
    regularization: { l2: 0.05, l1: 0.01 },
  });
  if (!(report.ratio < 1e-5)) throw new Error(`gradient check ratio ${report.ratio} ≥ 1e-5`);
  if (tf.memory().numTensors !== before) throw new Error(`leaked ${tf.memory().numTensors - before} tensors`);
});
