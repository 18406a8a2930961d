import { ValidationError } from "../../core/validation-error.ts";
import { describe, expect, it } from "vitest";
import { ewa, smooth } from "../../core/ewa.ts";

describe("ewa", () => {
  // The course's temperature example, β = 0.9, θ = 40, 49, 45, v_0 = 0:
  //   v1 = 0.9·0 + 0.1·40 = 4
  //   v2 = 0.9·4 + 0.1·49 = 3.6 + 4.9 = 8.5
  //   v3 = 0.9·8.5 + 0.1·45 = 7.65 + 4.5 = 12.15
  // Bias-corrected, v_t/(1 − 0.9ᵗ):
  //   4/0.1 = 40, 8.5/0.19 = 44.7368…, 12.15/0.271 = 44.8339…
  // (1 − 0.9³ = 1 − 0.729 = 0.271; 45.6753…, quoted elsewhere, does not follow from these inputs.)
  const temps = [40, 49, 45];

  it("smooths the course's example without bias correction: 4, 8.5, 12.15", () => {
    const out = smooth(temps, { beta: 0.9 });
    [4, 8.5, 12.15].forEach((v, i) => expect(out[i]).toBeCloseTo(v, 12));
  });

  it("with bias correction: 40, 44.7368…, 44.8339…", () => {
    const out = smooth(temps, { beta: 0.9, biasCorrection: true });
    [40, 8.5 / 0.19, 12.15 / 0.271].forEach((v, i) => expect(out[i]).toBeCloseTo(v, 12));
    expect(out[1]).toBeCloseTo(44.7368421, 6);
    expect(out[2]).toBeCloseTo(44.8339483, 6);
  });

  it("the incremental form gives the same values and is pure", () => {
    for (const biasCorrection of [false, true]) {
      const avg = ewa({ beta: 0.9, biasCorrection });
      let state = avg.init();
      expect(avg.value(state)).toBeNaN();
      const values: number[] = [];
      for (const t of temps) {
        const before = { ...state };
        const next = avg.update(state, t);
        expect(state).toEqual(before);
        state = next;
        values.push(avg.value(state));
      }
      expect(values).toEqual(smooth(temps, { beta: 0.9, biasCorrection }));
      expect(state.count).toBe(3);
      expect(state.average).toBeCloseTo(12.15, 12);
      expect(state.weight).toBeCloseTo(0.271, 14); // 1 − 0.9³
    }
  });

  it("bias correction turns a constant series into itself", () => {
    // θ = 5, 5, 5 with β = 0.9: v = 0.5, 0.95, 1.355 (= 5·(1 − 0.9ᵗ)); corrected: 5, 5, 5.
    const raw = smooth([5, 5, 5]);
    [0.5, 0.95, 1.355].forEach((v, i) => expect(raw[i]).toBeCloseTo(v, 12));
    smooth([5, 5, 5], { biasCorrection: true }).forEach((v) => expect(v).toBeCloseTo(5, 12));
  });

  it("β = 0 is the series itself; other β follow the recurrence", () => {
    expect(smooth([3, -1, 7], { beta: 0 })).toEqual([3, -1, 7]);
    // β = 0.5, θ = 2, 4: v1 = 1, v2 = 0.5 + 2 = 2.5; corrected 1/0.5 = 2, 2.5/0.75 = 3.333…
    expect(smooth([2, 4], { beta: 0.5 })).toEqual([1, 2.5]);
    const c = smooth([2, 4], { beta: 0.5, biasCorrection: true });
    expect(c[0]).toBe(2);
    expect(c[1]).toBeCloseTo(10 / 3, 14);
    expect(smooth(new Float32Array([2, 4]), { beta: 0.5 })).toEqual([1, 2.5]);
    expect(smooth([])).toEqual([]);
  });

  it("validates β and biasCorrection", () => {
    expect(() => ewa({ beta: 1 })).toThrow(new ValidationError("beta", "Cannot create ewa: 'beta' must be in [0, 1), current value is 1"));
    expect(() => smooth([1], { beta: -0.1 })).toThrow(/Cannot smooth: 'beta'.*-0.1/);
    expect(() => ewa({ biasCorrection: "yes" as unknown as boolean })).toThrow(TypeError);
  });
});
