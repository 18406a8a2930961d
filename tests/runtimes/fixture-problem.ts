/**
 * A fixed small training problem whose gradients every runtime computes; the runtime tests compare
 * the bits. Runtime-agnostic: imported by vitest and by the Deno script.
 */
import { computeGradients, initParameters, parseModelSpec, planModel, useBackend } from "../../core/mod.ts";
import { randomBatch } from "../helpers/batches.ts";

export async function fixtureGradients(): Promise<Record<string, number[]>> {
  await useBackend("wasm");
  const plan = planModel(parseModelSpec({
    input: [12],
    layers: [
      { type: "dense", units: 16 },
      { type: "batchnorm" },
      { type: "relu" },
      { type: "dropout", keepProb: 0.75 },
      { type: "dense", units: 5 },
    ],
    output: "softmax",
  }));
  const params = initParameters(plan, 11);
  const result = await computeGradients(plan, params, randomBatch(plan, 40, 3), { step: 4, seed: 9, chunkSize: 16 });
  const out: Record<string, number[]> = { lossSum: [result.lossSum] };
  for (const [name, g] of Object.entries(result.gradients!)) out[name] = Array.from(g);
  return out;
}
