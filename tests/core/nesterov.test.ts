// Heavy-ball and Nesterov momentum (core/optim/nesterov.ts), the outer optimizers of local-step
// rounds, against numbers derived by hand from torch.optim.SGD's update
// (buf ← μ·buf + g; d = buf, or g + μ·buf with nesterov; p ← p − α·d).
import { describe, expect, it } from "vitest";
import { applyUpdates, heavyBall } from "../../core/optim/mod.ts";
import { ValidationError } from "../../core/validation-error.ts";

function run(nesterov: boolean, steps: number): number[] {
  const opt = heavyBall({ learningRate: 0.1, momentum: 0.9, nesterov });
  let params: Record<string, Float32Array> = { w: new Float32Array([0]) };
  let state = opt.init(params);
  const out: number[] = [];
  for (let t = 0; t < steps; t++) {
    const [updates, next] = opt.update({ w: new Float32Array([1]) }, state);
    params = applyUpdates(params, updates);
    state = next;
    out.push(params.w[0]);
  }
  return out;
}

describe("heavyBall", () => {
  it("plain: buf 1, 1.9, 2.71 gives w −0.1, −0.29, −0.561", () => {
    run(false, 3).forEach((w, i) => expect(w).toBeCloseTo([-0.1, -0.29, -0.561][i], 6));
  });

  it("nesterov: d = 1 + 0.9·buf = 1.9, 2.71, 3.439 gives w −0.19, −0.461, −0.8049", () => {
    run(true, 3).forEach((w, i) => expect(w).toBeCloseTo([-0.19, -0.461, -0.8049][i], 6));
  });

  it("checks its options up front, naming the field", () => {
    expect(() => heavyBall({ learningRate: 0.1, momentum: 1 })).toThrow(ValidationError);
    expect(() => heavyBall({ learningRate: 0.1, momentum: 1 })).toThrow(/'momentum' must be in \[0, 1\)/);
    expect(() => heavyBall({ learningRate: 0 })).toThrow(/learningRate/);
  });
});
