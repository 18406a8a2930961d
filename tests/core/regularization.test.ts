import { describe, expect, it } from "vitest";
import { parseRegularization, penalty } from "../../core/model/regularization.ts";
import { parseModelSpec, planModel } from "../../core/model/spec.ts";

const plan = planModel(parseModelSpec({
  input: [1],
  layers: [{ type: "dense", units: 2 }, { type: "batchnorm" }, { type: "relu" }, { type: "dense", units: 2 }],
  output: "softmax",
}));
const params = {
  "dense0.W": Float32Array.from([1, -2]),
  "batchnorm1.gamma": Float32Array.from([5, 5]),
  "batchnorm1.beta": Float32Array.from([5, 5]),
  "dense3.W": Float32Array.from([0.5, 0, 0, -0.5]),
  "dense3.b": Float32Array.from([7, 7]),
};

describe("regularization", () => {
  it("L2: (λ/2m)·Σ‖W‖², gradient (λ/m)·W, weights only", () => {
    // λ = 0.5, m = 2: Σ W² = 1 + 4 + 0.25 + 0.25 = 5.5 → 0.5/4 · 5.5 = 0.6875.
    const p = penalty(plan, params, { l2: 0.5 }, 2);
    expect(p.value).toBeCloseTo(0.6875, 12);
    expect([...p.gradients["dense0.W"]]).toEqual([0.25, -0.5]);
    expect([...p.gradients["dense3.W"]]).toEqual([0.125, 0, 0, -0.125]);
    expect(Object.keys(p.gradients).sort()).toEqual(["dense0.W", "dense3.W"]);
  });

  it("L1: (λ/2m)·Σ|W|, gradient (λ/2m)·sign(W)", () => {
    // λ = 0.5, m = 2: Σ|W| = 1 + 2 + 0.5 + 0.5 = 4 → 0.5/4 · 4 = 0.5; gradient 0.125·sign(W), sign(0) = 0.
    const p = penalty(plan, params, { l1: 0.5 }, 2);
    expect(p.value).toBeCloseTo(0.5, 12);
    expect([...p.gradients["dense0.W"]]).toEqual([0.125, -0.125]);
    expect([...p.gradients["dense3.W"]]).toEqual([0.125, 0, 0, -0.125]);
  });

  it("is zero without λ", () => {
    expect(penalty(plan, params, {}, 2)).toEqual({ value: 0, gradients: {} });
  });

  it("validates the spec field", () => {
    expect(parseRegularization({ l2: 1e-4 })).toEqual({ l2: 1e-4 });
    expect(() => parseRegularization({ l2: -1 })).toThrow(/'regularization.l2' must be in \[0, inf\), current value is -1/);
    expect(() => parseRegularization({ l3: 1 })).toThrow(/'regularization.l3' is not a known field/);
  });
});
