import { describe, expect, it } from "vitest";
import { fillDropoutMask } from "../../core/model/dropout.ts";

const key = { seed: 42, step: 7, layer: 3 };

describe("inverted dropout masks", () => {
  it("keeps keepProb of the units within 3σ and preserves the mean activation", () => {
    const rows = 400, units = 500, keepProb = 0.8;
    const mask = fillDropoutMask(new Float32Array(rows * units), key, Array.from({ length: rows }, (_, i) => i), units, keepProb);
    let kept = 0, sum = 0, other = 0;
    for (const v of mask) {
      if (v !== 0) kept++;
      // Kept units are scaled by 1/keepProb (inverted dropout); nothing else appears.
      if (v !== 0 && v !== Math.fround(1 / keepProb)) other++;
      sum += v;
    }
    expect(other).toBe(0);
    const n = rows * units;
    const sigma = Math.sqrt(n * keepProb * (1 - keepProb));
    expect(Math.abs(kept - n * keepProb)).toBeLessThan(3 * sigma);
    // E[mask·a] = a: the mean multiplier is 1 within 3σ (σ of the mean = sqrt(p(1−p)/n)/p).
    expect(Math.abs(sum / n - 1)).toBeLessThan((3 * Math.sqrt(keepProb * (1 - keepProb) / n)) / keepProb);
  });

  it("gives an example the same mask however the batch is split", () => {
    const units = 37;
    const all = Array.from({ length: 64 }, (_, i) => 1000 + i);
    const whole = fillDropoutMask(new Float32Array(64 * units), key, all, units, 0.5);
    const part = fillDropoutMask(new Float32Array(10 * units), key, all.slice(20, 30), units, 0.5);
    expect(part).toEqual(whole.subarray(20 * units, 30 * units));
    const shuffled = [all[40], all[3]];
    const two = fillDropoutMask(new Float32Array(2 * units), key, shuffled, units, 0.5);
    expect(two.subarray(0, units)).toEqual(whole.subarray(40 * units, 41 * units));
    expect(two.subarray(units)).toEqual(whole.subarray(3 * units, 4 * units));
  });

  it("changes with the seed, the step and the layer", () => {
    const m = (k: typeof key) => fillDropoutMask(new Float32Array(200), k, [5], 200, 0.5);
    const base = m(key);
    expect(m({ ...key, seed: 43 })).not.toEqual(base);
    expect(m({ ...key, step: 8 })).not.toEqual(base);
    expect(m({ ...key, layer: 4 })).not.toEqual(base);
    expect(m({ ...key })).toEqual(base);
  });

  it("keeps everything at keepProb = 1", () => {
    const mask = fillDropoutMask(new Float32Array(1000), key, [0, 1, 2, 3], 250, 1);
    expect([...mask].every((v) => v === 1)).toBe(true);
  });
});
