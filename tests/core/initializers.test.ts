import { describe, expect, it } from "vitest";
import { useBackend } from "../../core/tf.ts";
import { computeGradients } from "../../core/model/engine.ts";
import { initParameters, RANDOM_INIT_SCALE, type NamedArrays } from "../../core/model/parameters.ts";
import { parseModelSpec, planModel, type Initializer } from "../../core/model/spec.ts";
import { randomBatch } from "../helpers/batches.ts";

function variance(x: Float32Array): { mean: number; variance: number } {
  let s = 0;
  for (const v of x) s += v;
  const mean = s / x.length;
  let s2 = 0;
  for (const v of x) s2 += (v - mean) ** 2;
  return { mean, variance: s2 / x.length };
}

const planWith = (init: Initializer, nIn = 500, units = 400) =>
  planModel(parseModelSpec({ input: [nIn], layers: [{ type: "dense", units, init }, { type: "tanh" }, { type: "dense", units: 3, init }], output: "softmax" }));

describe("initializers", () => {
  // 200,000 draws: the sample variance has a relative standard error of sqrt(2/N) ≈ 0.32%.
  it("he draws W with variance 2/n[l-1]", () => {
    const { mean, variance: v } = variance(initParameters(planWith("he"), 1)["dense0.W"]);
    expect(Math.abs(mean)).toBeLessThan(5 * Math.sqrt(2 / 500 / 200_000));
    expect(v / (2 / 500)).toBeCloseTo(1, 1);
    expect(Math.abs(v / (2 / 500) - 1)).toBeLessThan(0.016);
  });

  it("xavier draws W with variance 1/n[l-1]", () => {
    const { variance: v } = variance(initParameters(planWith("xavier"), 1)["dense0.W"]);
    expect(Math.abs(v / (1 / 500) - 1)).toBeLessThan(0.016);
  });

  it("random draws small uniform weights", () => {
    const w = initParameters(planWith("random"), 1)["dense0.W"];
    const { variance: v } = variance(w);
    expect(w.reduce((a, b) => Math.max(a, b))).toBeLessThanOrEqual(RANDOM_INIT_SCALE);
    expect(w.reduce((a, b) => Math.min(a, b))).toBeGreaterThanOrEqual(-RANDOM_INIT_SCALE);
    // Var(U(−a, a)) = a²/3.
    expect(Math.abs(v / (RANDOM_INIT_SCALE ** 2 / 3) - 1)).toBeLessThan(0.02);
  });

  it("zeros gives zero weights; biases start at 0 and γ at 1", () => {
    const plan = planModel(parseModelSpec({ input: [3], layers: [{ type: "dense", units: 4, init: "zeros" }, { type: "batchnorm" }, { type: "dense", units: 2 }], output: "softmax" }));
    const p = initParameters(plan, 9);
    expect([...p["dense0.W"]].every((x) => x === 0)).toBe(true);
    expect([...p["batchnorm1.gamma"]]).toEqual([1, 1, 1, 1]);
    expect([...p["batchnorm1.beta"]]).toEqual([0, 0, 0, 0]);
    expect([...p["dense2.b"]]).toEqual([0, 0]);
  });

  it("is seeded and per layer", () => {
    const a = initParameters(planWith("he", 20, 10), 1), b = initParameters(planWith("he", 20, 10), 1);
    const c = initParameters(planWith("he", 20, 10), 2);
    expect(a["dense0.W"]).toEqual(b["dense0.W"]);
    expect(a["dense0.W"]).not.toEqual(c["dense0.W"]);
    // Resizing the last layer does not change the first layer's draw.
    expect(initParameters(planWith("he", 20, 10), 1)["dense0.W"]).toEqual(a["dense0.W"]);
  });
});

describe("zeros on a multi-layer net never breaks symmetry", () => {
  async function train(init: Initializer): Promise<NamedArrays> {
    await useBackend("wasm");
    const plan = planModel(parseModelSpec({
      input: [5],
      layers: [{ type: "dense", units: 6, init }, { type: "tanh" }, { type: "dense", units: 6, init }, { type: "tanh" }, { type: "dense", units: 3, init }],
      output: "softmax",
    }));
    let params = initParameters(plan, 3);
    const batch = randomBatch(plan, 32, 4);
    for (let step = 0; step < 30; step++) {
      const gradients = (await computeGradients(plan, params, batch, { step, seed: 1, chunkSize: 32 })).gradients!;
      const next: NamedArrays = {};
      for (const [k, v] of Object.entries(params)) next[k] = v.map((x, i) => x - 0.5 * (gradients[k][i] / 32));
      params = next;
    }
    return params;
  }
  // Hidden unit j of a dense layer with W [nIn, nOut] is column j; its outgoing weights are row j
  // of the next W. Symmetric units have identical columns and identical outgoing rows.
  const columnsEqual = (w: Float32Array, rows: number, cols: number) => {
    for (let r = 0; r < rows; r++) for (let c = 1; c < cols; c++) if (w[r * cols + c] !== w[r * cols]) return false;
    return true;
  };
  const rowsEqual = (w: Float32Array, rows: number, cols: number) => {
    for (let r = 1; r < rows; r++) for (let c = 0; c < cols; c++) if (w[r * cols + c] !== w[c]) return false;
    return true;
  };

  it("keeps hidden units identical after training with zeros, not with he", async () => {
    const z = await train("zeros");
    expect(columnsEqual(z["dense0.W"], 5, 6)).toBe(true);
    expect(columnsEqual(z["dense2.W"], 6, 6) && rowsEqual(z["dense2.W"], 6, 6)).toBe(true);
    expect(rowsEqual(z["dense4.W"], 6, 3)).toBe(true);
    // The output layer did learn something: training is not simply stuck at zero.
    expect(z["dense4.b"].some((x) => x !== 0)).toBe(true);
    const h = await train("he");
    expect(columnsEqual(h["dense0.W"], 5, 6)).toBe(false);
    expect(rowsEqual(h["dense4.W"], 6, 3)).toBe(false);
  });
});
