import { describe, expect, it } from "vitest";
import { Domain, keyOf, permutation, philox4x32, Rng } from "../../core/random.ts";

const hex = (a: Uint32Array) => Array.from(a, (x) => x.toString(16).padStart(8, "0")).join(" ");

describe("philox4x32-10", () => {
  // Known-answer vectors of Random123 (kat_vectors, philox4x32_10).
  it("matches the Random123 known-answer vectors", () => {
    expect(hex(philox4x32([0, 0, 0, 0], [0, 0]))).toBe("6627e8d5 e169c58d bc57ac4c 9b00dbd8");
    expect(hex(philox4x32([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff])))
      .toBe("408f276d 41c83b0e a20bc7c6 6d5451fd");
    expect(hex(philox4x32([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0])))
      .toBe("d16cfe09 94fdcceb 5001e420 24126ea1");
  });

  it("separates domains and rejects bad seeds", () => {
    expect(keyOf(42, Domain.dropout)).not.toEqual(keyOf(42, Domain.init));
    expect(() => keyOf(-1, Domain.init)).toThrow(/'seed' must be an integer in \[0, 2\^53\), current value is -1/);
    expect(() => keyOf(1.5, Domain.init)).toThrow(RangeError);
  });
});

describe("Rng", () => {
  it("is reproducible per (seed, domain, stream) and differs across streams", () => {
    const draw = (s: number) => Array.from({ length: 8 }, ((r) => () => r.nextUint32())(new Rng(7, Domain.test, s)));
    expect(draw(0)).toEqual(draw(0));
    expect(draw(0)).not.toEqual(draw(1));
  });

  it("draws uniforms with mean 1/2 and variance 1/12", () => {
    const rng = new Rng(1, Domain.test);
    const n = 200_000;
    let s = 0, s2 = 0, min = 1, max = 0;
    for (let i = 0; i < n; i++) {
      const u = rng.uniform();
      min = Math.min(min, u);
      max = Math.max(max, u);
      s += u;
      s2 += u * u;
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    const mean = s / n;
    // Standard error of the mean: sqrt(1/12 / n) ≈ 6.5e-4; allow 5σ.
    expect(Math.abs(mean - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / n));
    expect(Math.abs(s2 / n - mean * mean - 1 / 12)).toBeLessThan(2e-3);
  });

  it("draws standard normals", () => {
    const rng = new Rng(2, Domain.test);
    const n = 200_000;
    let s = 0, s2 = 0;
    for (let i = 0; i < n; i++) {
      const z = rng.normal();
      s += z;
      s2 += z * z;
    }
    expect(Math.abs(s / n)).toBeLessThan(5 / Math.sqrt(n));
    // Var of the sample variance of N(0,1) is 2/n.
    expect(Math.abs(s2 / n - 1)).toBeLessThan(5 * Math.sqrt(2 / n));
  });

  it("draws integers uniformly in [0, n)", () => {
    const rng = new Rng(3, Domain.test);
    const counts = new Array(3).fill(0);
    for (let i = 0; i < 30_000; i++) counts[rng.int(3)]++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(5 * Math.sqrt(30_000 * (1 / 3) * (2 / 3)));
    expect(() => rng.int(0)).toThrow(/'n' must be an integer in \[1, 2\^32\], current value is 0/);
  });

  it("shuffles into a permutation", () => {
    const p = permutation(100, new Rng(4, Domain.test));
    expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect([...p]).not.toEqual(Array.from({ length: 100 }, (_, i) => i));
  });
});
