// The in-place forms a round's replica uses (core/round.ts): Adam's updateInPlace, descent's
// inPlace option and applyUpdates' `into` give the bits of the pure forms, written into the
// caller's arrays, over several steps (bias corrections change with t).
import { describe, expect, it } from "vitest";
import type { NamedArrays } from "../../core/model/parameters.ts";
import { adam, applyIfFinite, applyUpdates, descent } from "../../core/optim/mod.ts";
import { Domain, Rng } from "../../core/random.ts";

const rng = new Rng(4, Domain.test);
const sizes = { W: 300, b: 7 };
const random = (scale: number): NamedArrays => Object.fromEntries(Object.entries(sizes).map(([k, n]) => [k, Float32Array.from({ length: n }, () => scale * rng.normal())]));
const copy = (x: NamedArrays): NamedArrays => Object.fromEntries(Object.entries(x).map(([k, v]) => [k, v.slice()]));

describe("in-place optimizer forms", () => {
  it("Adam through descent({inPlace}) and applyUpdates({into}) equal the pure forms bitwise, in the caller's arrays", () => {
    const direction = adam({ learningRate: 0.01 }).direction;
    const pure = applyIfFinite(descent(direction, (t) => 0.01 / (1 + t)));
    const inPlace = applyIfFinite(descent(direction, (t) => 0.01 / (1 + t), { inPlace: true }));
    let p1 = random(1), s1 = pure.init(p1);
    const p2 = copy(p1);
    let s2 = inPlace.init(p2);
    for (let step = 0; step < 5; step++) {
      const g = random(0.1 * (step + 1));
      const g2 = copy(g);
      const [u1, n1] = pure.update(g, s1, p1);
      const [u2, n2] = inPlace.update(g2, s2, p2);
      // The updates were written over the gradients, the moments over the old ones.
      expect(u2.W).toBe(g2.W);
      expect((n2.inner as unknown as { v: NamedArrays }).v.W).toBe((s2.inner as unknown as { v: NamedArrays }).v.W);
      expect(u2).toEqual(u1);
      expect(n2).toEqual(n1);
      p1 = applyUpdates(p1, u1);
      expect(applyUpdates(p2, u2, { into: p2 })).toEqual(p1);
      s1 = n1;
      s2 = n2;
    }
    expect(s2.inner.step).toBe(5);
    // The pure form left its inputs alone.
    const g = random(1), before = copy(g);
    pure.update(g, s1, p1);
    expect(g).toEqual(before);
  });

  it("applyUpdates refuses `into` arrays of other sizes", () => {
    const p = random(1);
    expect(() => applyUpdates(p, p, { into: { W: new Float32Array(3), b: new Float32Array(7) } })).toThrow(/into/);
  });
});
