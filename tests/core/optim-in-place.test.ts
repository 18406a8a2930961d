// descendInPlace, the optimizer step of a round's replica (core/round.ts), against the pure forms
// it stands for: the mean of the gradient sums rounded to float32 (as meanPlusPenalty stores it),
// applyIfFinite(descent(direction, rate)).update and applyUpdates. The same bits over several
// steps (bias corrections change with t), written into the caller's moments and parameters, for
// every direction, with a fused applyInPlace (Adam) and without.
import { describe, expect, it } from "vitest";
import type { NamedArrays } from "../../core/model/parameters.ts";
import { adam, applyIfFinite, applyUpdates, descendInPlace, descent, heavyBall, momentum, rmsprop, sgd } from "../../core/optim/mod.ts";
import type { DescentOptimizer } from "../../core/optim/mod.ts";
import { Domain, Rng } from "../../core/random.ts";

const rng = new Rng(4, Domain.test);
const sizes = { W: 300, b: 7 };
const random = (scale: number): NamedArrays => Object.fromEntries(Object.entries(sizes).map(([k, n]) => [k, Float32Array.from({ length: n }, () => scale * rng.normal())]));
const copy = (x: NamedArrays): NamedArrays => Object.fromEntries(Object.entries(x).map(([k, v]) => [k, v.slice()]));
/** The bits of every array (toEqual would take −0 for +0). */
const bits = (x: object): Record<string, unknown> =>
  Object.fromEntries(Object.entries(x).map(([k, v]) => [k, v instanceof Float32Array ? Array.from(new Uint32Array(v.buffer, v.byteOffset, v.length)) : typeof v === "object" && v ? bits(v) : v]));
/** sum/rows stored in float32, as meanPlusPenalty writes it without a penalty. */
const meanOf = (sums: NamedArrays, rows: number): NamedArrays => Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, Float32Array.from(v, (x) => x / rows)]));

const optimizers = [
  ["adam", adam({ learningRate: 0.01 })],
  ["sgd", sgd({ learningRate: 0.01 })],
  ["momentum with bias correction", momentum({ learningRate: 0.01, beta: 0.8, biasCorrection: true })],
  ["rmsprop", rmsprop({ learningRate: 0.01 })],
  ["nesterov", heavyBall({ learningRate: 0.01, momentum: 0.9, nesterov: true })],
] as unknown as [string, DescentOptimizer<object>][];

describe("descendInPlace", () => {
  it.each(optimizers)("gives %s the bits of the mean, applyIfFinite(descent) and applyUpdates, in the caller's arrays", (_, opt) => {
    const rate = (t: number) => 0.01 / (1 + t);
    const pure = applyIfFinite(descent(opt.direction, rate));
    let p1 = random(1), s1 = pure.init(p1);
    const p2 = copy(p1);
    let s2 = opt.init(p2);
    for (let step = 0; step < 5; step++) {
      const rows = [1, 3, 64, 7, 1000][step];
      const sums = random(0.1 * rows);
      const [u1, n1] = pure.update(meanOf(sums, rows), s1, p1);
      p1 = applyUpdates(p1, u1);
      const before = { W: p2.W, b: p2.b };
      const n2 = descendInPlace(opt.direction, copy(sums), rows, s2, rate(step), p2)!;
      expect(p2.W).toBe(before.W);
      expect(bits(p2)).toEqual(bits(p1));
      expect(bits(n2)).toEqual(bits(n1.inner));
      s1 = n1;
      s2 = n2;
    }
    expect(s2.step).toBe(5);
  });

  it("changes nothing and gives null when a gradient is not finite", () => {
    const opt = adam({ learningRate: 0.01 });
    const p = random(1);
    const state = opt.init(p);
    descendInPlace(opt.direction, random(0.1), 4, state, 0.01, p);
    const before = { p: bits(p), state: bits(state) };
    for (const bad of [NaN, Infinity, -Infinity]) {
      const g = random(0.1);
      g.b[3] = bad;
      expect(descendInPlace(opt.direction, g, 4, state, 0.01, p)).toBeNull();
      expect({ p: bits(p), state: bits(state) }).toEqual(before);
    }
  });

  it("refuses a learning rate that is not a finite number >= 0, rows that are not a count, and gradients of other sizes", () => {
    const opt = sgd({ learningRate: 0.01 });
    const p = random(1);
    expect(() => descendInPlace(opt.direction, random(0.1), 1, opt.init(p), -1, p)).toThrow(/learning rate must be a finite number >= 0/);
    expect(() => descendInPlace(opt.direction, random(0.1), 0, opt.init(p), 0.1, p)).toThrow(/'rows' must be an integer >= 1/);
    expect(() => descendInPlace(opt.direction, { W: new Float32Array(3), b: new Float32Array(7) }, 1, opt.init(p), 0.1, p)).toThrow(/'W' has 3 values/);
  });
});
