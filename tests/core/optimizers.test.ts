import type { NamedArrays } from "../../core/model/parameters.ts";
import { ValidationError } from "../../core/validation-error.ts";
import { describe, expect, it } from "vitest";
import {
  adam,
  applyIfFinite,
  applyUpdates,
  type DescentOptimizer,
  momentum,
  type Optimizer,
  optimizer,
  rmsprop,
  sgd,
  withSchedule,
} from "../../core/optim/mod.ts";
import { type Schedule, schedule } from "../../core/schedule.ts";
import { decode, encode } from "../../core/wire/codec.ts";

// ---------------------------------------------------------------------------------------------
// Helpers

/** |actual − expected| ≤ tol·max(1, |expected|) elementwise: a float32 tolerance around float64 oracles. */
function expectClose(actual: Float32Array, expected: readonly number[], tol = 2e-6): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    if (!(err <= tol * Math.max(1, Math.abs(expected[i])))) {
      throw new Error(`element ${i}: ${actual[i]} is not within ${tol} of ${expected[i]}`);
    }
  }
}

/** The bits of every Float32Array in a value, in a stable order, for bitwise comparisons. */
function bits(value: unknown): unknown {
  if (value instanceof Float32Array) return Array.from(new Uint32Array(value.buffer, value.byteOffset, value.length));
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = bits((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

function f32(values: readonly number[]): Float32Array {
  return new Float32Array(values);
}

/** Runs `opt` for the given gradients, one per step; returns the final params and state. */
function runSteps<S>(opt: Optimizer<S>, params: NamedArrays, grads: readonly NamedArrays[]): { params: NamedArrays; state: S } {
  let state = opt.init(params);
  for (const g of grads) {
    const [updates, next] = opt.update(g, state, params);
    params = applyUpdates(params, updates);
    state = next;
  }
  return { params, state };
}

// ---------------------------------------------------------------------------------------------
// Test problems. Gradients are derived by hand, evaluated in float64 from the float32 params.

interface Problem {
  readonly start: NamedArrays;
  readonly minimum: NamedArrays;
  loss(p: NamedArrays): number;
  grad(p: NamedArrays): NamedArrays;
  readonly steps: number;
  readonly tolerance: number;
}

/** f(w) = ½·w0² + 5·w1², ∇f = (w0, 10·w1), minimum at (0, 0). One tensor of two values. */
const parabola: Problem = {
  start: { w: f32([3, -2]) },
  minimum: { w: f32([0, 0]) },
  loss: (p) => 0.5 * p.w[0] ** 2 + 5 * p.w[1] ** 2,
  grad: (p) => ({ w: f32([p.w[0], 10 * p.w[1]]) }),
  steps: 1000,
  tolerance: 1e-2,
};

/**
 * Rosenbrock f(x, y) = (1 − x)² + 100·(y − x²)², ∇f = (−2(1 − x) − 400·x·(y − x²), 200·(y − x²)),
 * minimum at (1, 1), from the classic start (−1.2, 1). Two tensors of one value.
 */
const rosenbrock: Problem = {
  start: { x: f32([-1.2]), y: f32([1]) },
  minimum: { x: f32([1]), y: f32([1]) },
  loss: (p) => (1 - p.x[0]) ** 2 + 100 * (p.y[0] - p.x[0] ** 2) ** 2,
  grad: (p) => {
    const x = p.x[0], y = p.y[0];
    return { x: f32([-2 * (1 - x) - 400 * x * (y - x * x)]), y: f32([200 * (y - x * x)]) };
  },
  steps: 10000,
  tolerance: 1e-2,
};

function distance(a: NamedArrays, b: NamedArrays): number {
  let sum = 0;
  for (const key of Object.keys(b)) for (let i = 0; i < b[key].length; i++) sum += (a[key][i] - b[key][i]) ** 2;
  return Math.sqrt(sum);
}

// ---------------------------------------------------------------------------------------------
// The conformance suite: every optimizer, plain or wrapped, must pass it.

type Make = (problem: "parabola" | "rosenbrock") => Optimizer<unknown>;

function conformance(name: string, make: Make): void {
  describe(`conformance: ${name}`, () => {
    for (const [label, problem] of [["parabola", parabola], ["rosenbrock", rosenbrock]] as const) {
      it(`minimizes the ${label} to ${problem.tolerance} in ${problem.steps} steps`, () => {
        const opt = make(label);
        let params = problem.start;
        let state = opt.init(params);
        for (let t = 0; t < problem.steps; t++) {
          const [updates, next] = opt.update(problem.grad(params), state, params);
          params = applyUpdates(params, updates);
          state = next;
        }
        expect(problem.loss(params)).toBeLessThan(problem.loss(problem.start));
        expect(distance(params, problem.minimum)).toBeLessThan(problem.tolerance);
        const rate = opt.learningRate(state);
        expect(Number.isFinite(rate) && rate > 0).toBe(true);
      });
    }

    it("is pure: update and applyUpdates modify none of their inputs", () => {
      const opt = make("rosenbrock");
      let params = rosenbrock.start;
      let state = opt.init(params);
      for (let t = 0; t < 4; t++) {
        const grads = rosenbrock.grad(params);
        const before = structuredClone({ grads, state, params });
        const [updates, next] = opt.update(grads, state, params);
        expect({ grads, state, params }).toEqual(before);
        expect(bits({ grads, state, params })).toEqual(bits(before));
        // The returned updates share no memory with the new state or the inputs.
        const nextCopy = structuredClone(next);
        for (const key of Object.keys(updates)) updates[key].fill(123);
        expect(bits(next)).toEqual(bits(nextCopy));
        expect(bits({ grads, state, params })).toEqual(bits(before));
        const [updates2] = opt.update(grads, state, params);
        const paramsCopy = structuredClone(params), updatesCopy = structuredClone(updates2);
        const applied = applyUpdates(params, updates2);
        expect(bits(params)).toEqual(bits(paramsCopy));
        expect(bits(updates2)).toEqual(bits(updatesCopy));
        params = applied;
        state = next;
      }
    });

    it("is deterministic: the same inputs give bitwise-identical outputs", () => {
      const grads = [parabola.grad(parabola.start), { w: f32([0.25, -7]) }, { w: f32([-1e-3, 3]) }];
      const a = runSteps(make("parabola"), parabola.start, grads);
      const b = runSteps(make("parabola"), parabola.start, grads);
      expect(bits(a)).toEqual(bits(b));
    });

    it("has a state that round-trips through the wire codec unchanged, and resumes bitwise", () => {
      const opt = make("rosenbrock");
      let params = rosenbrock.start;
      let state = opt.init(params);
      expect(decode(encode(state))).toEqual(state);
      for (let t = 0; t < 3; t++) {
        const [updates, next] = opt.update(rosenbrock.grad(params), state, params);
        params = applyUpdates(params, updates);
        state = next;
      }
      const restored = decode(encode(state)) as typeof state;
      expect(restored).toEqual(state);
      expect(bits(restored)).toEqual(bits(state));
      // Continuing from the decoded state gives the same bits as continuing from the original.
      const grads = rosenbrock.grad(params);
      expect(bits(opt.update(grads, restored, params))).toEqual(bits(opt.update(grads, state, params)));
    });
  });
}

const problemRate = (problem: "parabola" | "rosenbrock", para: number, rosen: number): number =>
  problem === "parabola" ? para : rosen;

conformance("sgd", (p) => sgd({ learningRate: problemRate(p, 0.05, 1.5e-3) }));
conformance("momentum", (p) => momentum({ learningRate: problemRate(p, 0.05, 1e-2), beta: 0.9 }));
conformance(
  "momentum with bias correction",
  (p) => momentum({ learningRate: problemRate(p, 0.05, 2e-3), biasCorrection: true }),
);
conformance("rmsprop", (p) => rmsprop({ learningRate: problemRate(p, 0.01, 1e-3) }));
conformance("adam", (p) => adam({ learningRate: problemRate(p, 0.05, 1e-2) }));
conformance("applyIfFinite(adam)", (p) => applyIfFinite(adam({ learningRate: problemRate(p, 0.05, 1e-2) })));
conformance("withSchedule(adam, inverseTime)", (p) => {
  const rate = problemRate(p, 0.05, 1e-2);
  return withSchedule(adam({ learningRate: rate }), schedule({ type: "inverseTime", decayRate: 0.1 }, rate), {
    stepsPerEpoch: 100,
  });
});
conformance("withSchedule(rmsprop, exponential)", (p) => {
  const rate = problemRate(p, 0.03, 1e-2);
  return withSchedule(rmsprop({ learningRate: rate }), schedule({ type: "exponential" }, rate), {
    stepsPerEpoch: problemRate(p, 20, 500),
  });
});
conformance("applyIfFinite(withSchedule(momentum, step))", (p) => {
  const rate = problemRate(p, 0.05, 1e-2);
  const sched = schedule({ type: "step", factor: 0.5, every: 5 }, rate);
  const stepsPerEpoch = problemRate(p, 100, 1000);
  return applyIfFinite(withSchedule(momentum({ learningRate: rate }), sched, { stepsPerEpoch }), {
    maxConsecutive: 3,
  });
});

// ---------------------------------------------------------------------------------------------
// Step-by-step values derived by hand (float64 oracles, float32 tolerance).

describe("sgd by hand", () => {
  it("W −= α·dW", () => {
    // α = 0.1, W = [1, −2].
    // Step 1, dW = [0.5, 0.25]: W = [1 − 0.05, −2 − 0.025] = [0.95, −2.025].
    // Step 2, dW = [−1, 2]:     W = [0.95 + 0.1, −2.025 − 0.2] = [1.05, −2.225].
    const opt = sgd({ learningRate: 0.1 });
    const one = runSteps(opt, { w: f32([1, -2]) }, [{ w: f32([0.5, 0.25]) }]);
    expectClose(one.params.w, [0.95, -2.025]);
    const two = runSteps(opt, { w: f32([1, -2]) }, [{ w: f32([0.5, 0.25]) }, { w: f32([-1, 2]) }]);
    expectClose(two.params.w, [1.05, -2.225]);
    expect(two.state).toEqual({ step: 2, learningRate: 0.1 });
  });
});

describe("momentum by hand", () => {
  const grads = [{ w: f32([1]) }, { w: f32([2]) }, { w: f32([-1]) }];

  it("V = βV + (1−β)dW, W −= α·V", () => {
    // α = 0.1, β = 0.9, W = 1, V = 0.
    // t=1, dW = 1:  V = 0.1·1 = 0.1;                 W = 1 − 0.1·0.1 = 0.99
    // t=2, dW = 2:  V = 0.9·0.1 + 0.1·2 = 0.29;      W = 0.99 − 0.029 = 0.961
    // t=3, dW = −1: V = 0.9·0.29 − 0.1 = 0.161;      W = 0.961 − 0.0161 = 0.9449
    const opt = momentum({ learningRate: 0.1, beta: 0.9 });
    const expected = [[0.99, 0.1], [0.961, 0.29], [0.9449, 0.161]];
    for (let t = 1; t <= 3; t++) {
      const { params, state } = runSteps(opt, { w: f32([1]) }, grads.slice(0, t));
      expectClose(params.w, [expected[t - 1][0]]);
      expectClose(state.v.w, [expected[t - 1][1]]);
      expect(state.step).toBe(t);
    }
  });

  it("with bias correction uses V/(1−βᵗ)", () => {
    // Same V as above; V̂ = V/(1 − 0.9ᵗ):
    // t=1: V̂ = 0.1/0.1 = 1;             W = 1 − 0.1 = 0.9
    // t=2: V̂ = 0.29/0.19 = 1.5263…;     W = 0.9 − 0.029/0.19 = 0.747368…
    // t=3: V̂ = 0.161/0.271 = 0.59409…;  W = 0.747368… − 0.0161/0.271 = 0.687958…
    const opt = momentum({ learningRate: 0.1, beta: 0.9, biasCorrection: true });
    const expected = [0.9, 0.9 - 0.029 / 0.19, 0.9 - 0.029 / 0.19 - 0.0161 / 0.271];
    for (let t = 1; t <= 3; t++) {
      const { params, state } = runSteps(opt, { w: f32([1]) }, grads.slice(0, t));
      expectClose(params.w, [expected[t - 1]]);
      expectClose(state.v.w, [[0.1, 0.29, 0.161][t - 1]]); // the state keeps the uncorrected V
    }
  });

  it("matches the 'V = βV + dW' form (PyTorch) with α scaled by (1−β)", () => {
    // PyTorch: V' = βV' + dW, W −= α'·V'. Since V' = V/(1−β), α'·V' = α·V when α = α'/(1−β).
    const beta = 0.8, alphaTorch = 0.02;
    const gs = [0.5, -1.5, 2, 0.25, -0.75];
    let w = 1.5, v = 0;
    for (const g of gs) {
      v = beta * v + g;
      w -= alphaTorch * v;
    }
    const opt = momentum({ learningRate: alphaTorch / (1 - beta), beta });
    const { params } = runSteps(opt, { w: f32([1.5]) }, gs.map((g) => ({ w: f32([g]) })));
    expectClose(params.w, [w], 1e-5);
  });
});

describe("rmsprop by hand", () => {
  it("S = βS + (1−β)dW², W −= α·dW/(√S + ε)", () => {
    // α = 0.01, β = 0.9, ε = 1e-8, W = [1, 2], S = 0.
    // t=1, dW = [2, −0.5]: S = 0.1·[4, 0.25] = [0.4, 0.025]; √S = [0.63245…, 0.15811…]
    //   W = [1 − 0.01·2/√0.4, 2 + 0.01·0.5/√0.025] = [0.968377…, 2.031622…]
    // t=2, dW = [−1, −0.5]: S = [0.36 + 0.1, 0.0225 + 0.025] = [0.46, 0.0475]
    //   W = [W0 + 0.01/√0.46, W1 + 0.005/√0.0475] = [0.983121…, 2.054564…]
    const eps = 1e-8;
    const w1 = [1 - (0.01 * 2) / (Math.sqrt(0.4) + eps), 2 + (0.01 * 0.5) / (Math.sqrt(0.025) + eps)];
    const w2 = [w1[0] + 0.01 / (Math.sqrt(0.46) + eps), w1[1] + 0.005 / (Math.sqrt(0.0475) + eps)];
    const opt = rmsprop({ learningRate: 0.01, beta: 0.9, epsilon: eps });
    const grads = [{ w: f32([2, -0.5]) }, { w: f32([-1, -0.5]) }];
    const one = runSteps(opt, { w: f32([1, 2]) }, grads.slice(0, 1));
    expectClose(one.params.w, w1);
    expectClose(one.state.s.w, [0.4, 0.025]);
    const two = runSteps(opt, { w: f32([1, 2]) }, grads);
    expectClose(two.params.w, w2);
    expectClose(two.state.s.w, [0.46, 0.0475]);
  });
});

describe("ε placement (outside the square root)", () => {
  it("rmsprop: W −= α·dW/(√S + ε) with a large ε", () => {
    // α = 0.1, β = 0.9, ε = 0.5, W = 1, dW = 2: S = 0.1·4 = 0.4,
    // W = 1 − 0.1·2/(√0.4 + 0.5) = 1 − 0.2/1.1324555… = 0.823392… (√(0.4 + 0.5) would give 0.789181…).
    const { params } = runSteps(rmsprop({ learningRate: 0.1, beta: 0.9, epsilon: 0.5 }), { w: f32([1]) }, [
      { w: f32([2]) },
    ]);
    expectClose(params.w, [1 - 0.2 / (Math.sqrt(0.4) + 0.5)]);
  });

  it("adam: W −= α·V̂/(√Ŝ + ε) with a large ε", () => {
    // α = 0.1, ε = 0.5, W = 1, dW = 0.5: V̂ = 0.5, Ŝ = 0.25, W = 1 − 0.1·0.5/(0.5 + 0.5) = 0.95.
    const { params } = runSteps(adam({ learningRate: 0.1, epsilon: 0.5 }), { w: f32([1]) }, [{ w: f32([0.5]) }]);
    expectClose(params.w, [0.95]);
  });
});

describe("adam by hand", () => {
  it("bias-corrected moments, W −= α·V̂/(√Ŝ + ε)", () => {
    // α = 0.1, β1 = 0.9, β2 = 0.999, ε = 1e-8, W = 1.
    // t=1, dW = 0.5: V = 0.1·0.5 = 0.05, S = 0.001·0.25 = 0.00025,
    //   V̂ = 0.05/0.1 = 0.5, Ŝ = 0.00025/0.001 = 0.25, √Ŝ = 0.5, W = 1 − 0.1·0.5/(0.5 + ε) ≈ 0.9
    // t=2, dW = −1: V = 0.045 − 0.1 = −0.055, S = 0.999·0.00025 + 0.001 = 0.00124975,
    //   V̂ = −0.055/(1 − 0.81) = −0.28947…, Ŝ = 0.00124975/(1 − 0.998001) = 0.62518…,
    //   W = W1 − 0.1·V̂/(√Ŝ + ε) = 0.9 + 0.036610… = 0.936610…
    const eps = 1e-8;
    const w1 = 1 - (0.1 * 0.5) / (0.5 + eps);
    const w2 = w1 - (0.1 * (-0.055 / 0.19)) / (Math.sqrt(0.00124975 / 0.001999) + eps);
    const opt = adam({ learningRate: 0.1, beta1: 0.9, beta2: 0.999, epsilon: eps });
    const grads = [{ w: f32([0.5]) }, { w: f32([-1]) }];
    const one = runSteps(opt, { w: f32([1]) }, grads.slice(0, 1));
    expectClose(one.params.w, [w1]);
    expectClose(one.state.v.w, [0.05]);
    expectClose(one.state.s.w, [0.00025]);
    const two = runSteps(opt, { w: f32([1]) }, grads);
    expectClose(two.params.w, [w2]);
    expectClose(two.state.v.w, [-0.055]);
    expectClose(two.state.s.w, [0.00124975]);
    expect(two.state.step).toBe(2);
    expect(opt.learningRate(two.state)).toBe(0.1);
  });

  it("uses the documented defaults β1 = 0.9, β2 = 0.999, ε = 1e-8", () => {
    const grads = [{ w: f32([0.5, -3]) }, { w: f32([-1, 2]) }, { w: f32([0.1, 0]) }];
    const a = runSteps(adam({ learningRate: 0.1 }), { w: f32([1, 2]) }, grads);
    const b = runSteps(adam({ learningRate: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 }), { w: f32([1, 2]) }, grads);
    expect(bits(a)).toEqual(bits(b));
  });
});

// ---------------------------------------------------------------------------------------------
// The state shape and the public surface

describe("state", () => {
  it("is a plain named record with moments by parameter name and a step count", () => {
    const params = { "dense0.W": f32([1, 2, 3]), "dense0.b": f32([0]) };
    const state = adam({ learningRate: 1e-3 }).init(params);
    expect(state).toEqual({
      step: 0,
      learningRate: 1e-3,
      v: { "dense0.W": f32([0, 0, 0]), "dense0.b": f32([0]) },
      s: { "dense0.W": f32([0, 0, 0]), "dense0.b": f32([0]) },
    });
    expect(sgd({ learningRate: 1 }).init(params)).toEqual({ step: 0, learningRate: 1 });
    expect(Object.keys(momentum({ learningRate: 1 }).init(params)).sort()).toEqual(["learningRate", "step", "v"]);
    expect(Object.keys(rmsprop({ learningRate: 1 }).init(params)).sort()).toEqual(["learningRate", "s", "step"]);
  });

  it("the public example of the optimizer API works", () => {
    let params: NamedArrays = { w: f32([1, 2]) };
    const grads: NamedArrays = { w: f32([0.5, -0.5]) };
    const opt = adam({ learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
    const state = opt.init(params);
    const [updates, next] = opt.update(grads, state, params);
    params = applyUpdates(params, updates);
    // First Adam step: V̂ = dW, Ŝ = dW², so the step is α·sign(dW) (up to ε).
    expectClose(params.w, [1 - 1e-3, 2 + 1e-3]);
    expect(next.step).toBe(1);
  });

  it("optimizer(spec) builds from the job spec shape", () => {
    const spec = { type: "adam", learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 } as const;
    const grads = [{ w: f32([0.5]) }, { w: f32([-1]) }];
    expect(bits(runSteps(optimizer(spec), { w: f32([1]) }, grads))).toEqual(
      bits(runSteps(adam(spec), { w: f32([1]) }, grads)),
    );
    expect(optimizer({ type: "sgd", learningRate: 0.1 }).name).toBe("sgd");
    expect(optimizer({ type: "momentum", learningRate: 0.1, beta: 0.8 }).name).toBe("momentum");
    expect(optimizer({ type: "rmsprop", learningRate: 0.1 }).name).toBe("rmsprop");
  });
});

// ---------------------------------------------------------------------------------------------
// Validation

describe("validation", () => {
  it("rejects out-of-range hyperparameters with RangeErrors quoting the value", () => {
    expect(() => adam({ learningRate: 1e-3, beta1: 1.2 })).toThrow(
      new ValidationError("beta1", "Cannot create adam: 'beta1' must be in [0, 1), current value is 1.2"),
    );
    expect(() => adam({ learningRate: 1e-3, beta2: 1 })).toThrow(ValidationError);
    expect(() => adam({ learningRate: 1e-3, epsilon: 0 })).toThrow(/'epsilon'.*current value is 0/);
    expect(() => sgd({ learningRate: 0 })).toThrow(ValidationError);
    expect(() => sgd({ learningRate: -0.1 })).toThrow(/Cannot create sgd: 'learningRate'.*current value is -0.1/);
    expect(() => momentum({ learningRate: 0.1, beta: -0.5 })).toThrow(/'beta'.*current value is -0.5/);
    expect(() => momentum({ learningRate: 0.1, beta: 1 })).toThrow(ValidationError);
    expect(() => rmsprop({ learningRate: 0.1, beta: 1.5 })).toThrow(ValidationError);
    expect(() => rmsprop({ learningRate: 0.1, epsilon: -1 })).toThrow(ValidationError);
  });

  it("rejects non-finite and wrongly typed hyperparameters", () => {
    expect(() => sgd({ learningRate: Infinity })).toThrow(/'learningRate'.*Infinity/);
    expect(() => adam({ learningRate: NaN })).toThrow(/'learningRate'.*NaN/);
    expect(() => sgd({ learningRate: "0.1" as unknown as number })).toThrow(ValidationError);
    expect(() => sgd(undefined as unknown as { learningRate: number })).toThrow(ValidationError);
    expect(() => momentum({ learningRate: 0.1, biasCorrection: "yes" as unknown as boolean })).toThrow(ValidationError);
  });

  it("rejects gradients that do not match the state, and updates that do not match the params", () => {
    const opt = adam({ learningRate: 0.1 });
    const state = opt.init({ a: f32([1, 2]), b: f32([3]) });
    expect(() => opt.update({ a: f32([1, 2]) }, state)).toThrow(/no tensor 'b'/);
    expect(() => opt.update({ a: f32([1, 2]), b: f32([3, 4]) }, state)).toThrow(TypeError);
    expect(() => opt.update({ a: f32([1, 2]), b: f32([3]), c: f32([0]) }, state)).toThrow(/'c'/);
    expect(() => opt.update({ a: [1, 2] as unknown as Float32Array, b: f32([3]) }, state)).toThrow(TypeError);
    expect(() => applyUpdates({ a: f32([1]) }, { a: f32([1, 2]) })).toThrow(TypeError);
    expect(() => applyUpdates({ a: f32([1]) }, {})).toThrow(TypeError);
  });

  it("validates the wrappers' options", () => {
    const inner = sgd({ learningRate: 0.1 });
    expect(() => applyIfFinite(inner, { maxConsecutive: -1 })).toThrow(ValidationError);
    expect(() => applyIfFinite(inner, { maxConsecutive: 1.5 })).toThrow(ValidationError);
    expect(() => applyIfFinite(inner, { maxConsecutive: Infinity })).not.toThrow();
    const sched: Schedule = () => 0.1;
    expect(() => withSchedule(inner, sched, { stepsPerEpoch: 0 })).toThrow(
      /Cannot create withSchedule: 'stepsPerEpoch'.*current value is 0/,
    );
    expect(() => withSchedule(inner, sched, { stepsPerEpoch: 2.5 })).toThrow(ValidationError);
    const wrapped = applyIfFinite(inner) as unknown as DescentOptimizer<object>;
    expect(() => withSchedule(wrapped, sched, { stepsPerEpoch: 1 })).toThrow(TypeError);
    expect(() => optimizer({ type: "adagrad" } as never)).toThrow(/'optimizer.type'.*"adagrad"/);
    expect(() => optimizer({ type: "adam", learningRate: 0.1, beta: 0.9 } as never)).toThrow(/'optimizer.beta'/);
  });

  it("rejects a schedule value that is not a finite number ≥ 0 when it is used", () => {
    const opt = withSchedule(sgd({ learningRate: 0.1 }), (_epoch, step) => (step < 1 ? 0.1 : NaN), {
      stepsPerEpoch: 1,
    });
    const state = opt.init({ w: f32([1]) });
    const [, next] = opt.update({ w: f32([1]) }, state);
    expect(() => opt.update({ w: f32([1]) }, next)).toThrow(RangeError);
  });
});

// ---------------------------------------------------------------------------------------------
// applyIfFinite

describe("applyIfFinite", () => {
  it("skips non-finite gradients, leaves the inner state untouched and counts the skips", () => {
    const inner = momentum({ learningRate: 0.1, beta: 0.9 });
    const opt = applyIfFinite(inner, { maxConsecutive: 2 });
    const params0: NamedArrays = { w: f32([1, 2]) };
    const good: NamedArrays = { w: f32([1, -1]) };
    let params: NamedArrays = params0;
    let state = opt.init(params);
    expect(state).toMatchObject({ skipped: 0, consecutiveSkipped: 0 });

    let [updates, next] = opt.update(good, state, params);
    params = applyUpdates(params, updates);
    state = next;
    expect(state.inner.step).toBe(1);

    for (const [bad, count] of [[{ w: f32([NaN, 1]) }, 1], [{ w: f32([0, Infinity]) }, 2]] as const) {
      [updates, next] = opt.update(bad, state, params);
      expect(next.inner).toBe(state.inner); // untouched
      expect(updates).toEqual({ w: f32([0, 0]) });
      expect(next).toMatchObject({ skipped: count, consecutiveSkipped: count });
      params = applyUpdates(params, updates);
      state = next;
    }
    expect(opt.learningRate(state)).toBe(0.1);

    [updates, next] = opt.update(good, state, params);
    params = applyUpdates(params, updates);
    state = next;
    expect(state).toMatchObject({ skipped: 2, consecutiveSkipped: 0 });
    expect(state.inner.step).toBe(2);

    // Oracle: the inner optimizer run on the finite gradients only.
    const oracle = runSteps(inner, params0, [good, good]);
    expect(bits(params)).toEqual(bits(oracle.params));
    expect(bits(state.inner)).toEqual(bits(oracle.state));

    // Two consecutive skips are allowed (maxConsecutive: 2); a third throws.
    [, state] = opt.update({ w: f32([-Infinity, 0]) }, state, params);
    [, state] = opt.update({ w: f32([NaN, NaN]) }, state, params);
    expect(state).toMatchObject({ skipped: 4, consecutiveSkipped: 2 });
    expect(() => opt.update({ w: f32([NaN, 0]) }, state, params)).toThrow(/maxConsecutive/);
  });

  it("does not advance a schedule on skipped updates", () => {
    const calls: number[] = [];
    const sched: Schedule = (_epoch, step) => {
      calls.push(step);
      return 0.1;
    };
    const opt = applyIfFinite(withSchedule(sgd({ learningRate: 1 }), sched, { stepsPerEpoch: 1 }));
    let state = opt.init({ w: f32([1]) });
    for (const g of [1, NaN, 2]) [, state] = opt.update({ w: f32([g]) }, state);
    expect(calls).toEqual([0, 0, 1]); // init, then the two applied updates
    expect(state.inner.step).toBe(2);
  });
});

// ---------------------------------------------------------------------------------------------
// withSchedule

describe("withSchedule", () => {
  it("uses the scheduled rate: the update is exactly −α_t·dW for sgd", () => {
    // manual: epochs 0 → 0.1, 1 → 0.01, 2 and later → 0.001; two steps per epoch.
    const sched = schedule({ type: "manual", rates: [[0, 0.1], [1, 0.01], [2, 0.001]] }, 0.1);
    const opt = withSchedule(sgd({ learningRate: 123 }), sched, { stepsPerEpoch: 2 });
    const g = f32([1, -2.5]);
    let state = opt.init({ w: f32([0, 0]) });
    expect(opt.learningRate(state)).toBe(0.1);
    const expectedRates = [0.1, 0.1, 0.01, 0.01, 0.001];
    for (const alpha of expectedRates) {
      const [updates, next] = opt.update({ w: g }, state);
      expect(Array.from(updates.w)).toEqual([Math.fround(-alpha * g[0]), Math.fround(-alpha * g[1])]);
      expect(next.learningRate).toBe(alpha);
      expect(opt.learningRate(next)).toBe(alpha);
      state = next;
    }
  });

  it("passes epoch = floor(step / stepsPerEpoch) and the update count", () => {
    const calls: [number, number][] = [];
    const opt = withSchedule(adam({ learningRate: 1 }), (epoch, step) => {
      calls.push([epoch, step]);
      return 0.01;
    }, { stepsPerEpoch: 3 });
    let state = opt.init({ w: f32([1]) });
    for (let t = 0; t < 7; t++) [, state] = opt.update({ w: f32([0.5]) }, state);
    // init asks for step 0, then updates 0..6.
    expect(calls).toEqual([[0, 0], [0, 0], [0, 1], [0, 2], [1, 3], [1, 4], [1, 5], [2, 6]]);
  });

  it("scales the unscheduled direction exactly: α_t times the α = 1 updates, moments unchanged", () => {
    // With a rate of 1 the updates are −d_t exactly; the scheduled ones must be fround(α_t·(−d_t)).
    const rates = (epoch: number): number => 0.1 / (1 + epoch);
    const grads = [f32([0.5, -2]), f32([-1, 3]), f32([0.25, 0.125]), f32([2, -0.5])];
    const makers: (() => DescentOptimizer<object>)[] = [
      () => adam({ learningRate: 7 }),
      () => rmsprop({ learningRate: 7 }),
      () => momentum({ learningRate: 7, biasCorrection: true }),
    ];
    for (const make of makers) {
      const unit = withSchedule(make(), () => 1, { stepsPerEpoch: 1 });
      const scheduled = withSchedule(make(), rates, { stepsPerEpoch: 1 });
      let su = unit.init({ w: f32([0, 0]) });
      let ss = scheduled.init({ w: f32([0, 0]) });
      grads.forEach((g, t) => {
        const [uu, nu] = unit.update({ w: g }, su);
        const [us, ns] = scheduled.update({ w: g }, ss);
        const alpha = rates(t);
        expect(Array.from(us.w)).toEqual(Array.from(uu.w, (x) => Math.fround(alpha * x)));
        su = nu;
        ss = ns;
        const { learningRate: _a, ...momentsU } = su;
        const { learningRate: _b, ...momentsS } = ss;
        expect(bits(momentsS)).toEqual(bits(momentsU));
      });
    }
  });

  it("a constant schedule gives the same bits as the plain optimizer", () => {
    const grads = [{ w: f32([0.5, -3]) }, { w: f32([-1, 2]) }, { w: f32([0.1, 0]) }];
    const plain = runSteps(adam({ learningRate: 0.01 }), { w: f32([1, 2]) }, grads);
    const scheduled = runSteps(
      withSchedule(adam({ learningRate: 5 }), schedule({ type: "constant" }, 0.01), { stepsPerEpoch: 2 }),
      { w: f32([1, 2]) },
      grads,
    );
    expect(bits(scheduled)).toEqual(bits(plain));
  });
});
