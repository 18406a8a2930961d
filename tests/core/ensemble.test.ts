import { describe, expect, test } from "vitest";
import { averageOutputs, ensembleSeeds, snapshotEnsemble } from "../../core/ensemble.ts";

describe("averageOutputs", () => {
  test("element-wise mean (values exact in binary)", () => {
    const mean = averageOutputs([
      new Float32Array([0.25, 0.75, 1, 0]),
      new Float32Array([0.5, 0.5, 0, 1]),
      new Float32Array([0, 1, 0.5, 0.5]),
    ]);
    expect(mean).toBeInstanceOf(Float32Array);
    // (0.25+0.5+0)/3 = 0.25, (0.75+0.5+1)/3 = 0.75, (1+0+0.5)/3 = 0.5, (0+1+0.5)/3 = 0.5
    expect([...mean]).toEqual([0.25, 0.75, 0.5, 0.5]);
  });

  test("accumulates in float64", () => {
    // 2^24 + 1 + 1 = 16777218 and 16777218 / 3 = 5592406 exactly (float64). A float32 running
    // sum would lose both 1s (2^24 + 1 rounds to 2^24) and give fround(16777216/3) = 5592405.5.
    const mean = averageOutputs([new Float32Array([16777216]), new Float32Array([1]), new Float32Array([1])]);
    expect(mean[0]).toBe(5592406);
  });

  test("one member is a copy of it", () => {
    const a = new Float32Array([0.1, 0.9]);
    const mean = averageOutputs([a]);
    expect([...mean]).toEqual([...a]);
    expect(mean).not.toBe(a);
  });

  test("validates", () => {
    expect(() => averageOutputs([])).toThrow(/'outputs' must be a non-empty array/);
    expect(() => averageOutputs([new Float32Array(2), new Float32Array(3)])).toThrow(
      new RangeError("Cannot average outputs: 'outputs[1].length' must be 2 (the first output's length), current value is 3"),
    );
    expect(() => averageOutputs([new Float32Array(2), [0, 1] as unknown as Float32Array])).toThrow(
      /'outputs\[1\]' must be a Float32Array/,
    );
    expect(() => averageOutputs([new Float64Array(2) as unknown as Float32Array])).toThrow(TypeError);
  });
});

describe("snapshotEnsemble", () => {
  const snapshots = [{ scale: 1 }, { scale: 2 }, { scale: 3.5 }];
  const predict = (p: { scale: number }) => new Float32Array([0.1 * p.scale, 0.3 * p.scale, 1 / p.scale]);

  test("gives the same bits as averageOutputs of the predictions", async () => {
    const expected = averageOutputs(snapshots.map(predict));
    const mean = await snapshotEnsemble(snapshots, predict);
    expect([...mean]).toEqual([...expected]);
    // Third column by hand: (1/1 + 1/2 + 1/3.5) / 3 = 0.595238…, up to float32 rounding of the inputs.
    expect(mean[2]).toBeCloseTo((1 + 0.5 + 1 / 3.5) / 3, 6);
  });

  test("accepts async predictions, called in order with their index", async () => {
    const calls: number[] = [];
    const mean = await snapshotEnsemble(snapshots, async (p, i) => {
      calls.push(i);
      await new Promise((r) => setTimeout(r, (3 - i) * 2));
      return predict(p);
    });
    expect(calls).toEqual([0, 1, 2]);
    expect([...mean]).toEqual([...averageOutputs(snapshots.map(predict))]);
  });

  test("validates", async () => {
    await expect(snapshotEnsemble([], predict)).rejects.toThrow(/'snapshots' must be a non-empty array/);
    await expect(snapshotEnsemble(snapshots, null as never)).rejects.toThrow(TypeError);
    await expect(snapshotEnsemble(snapshots, (_p, i) => new Float32Array(i === 2 ? 2 : 3))).rejects.toThrow(
      /'predict\(snapshots\[2\]\).length' must be 3/,
    );
    await expect(snapshotEnsemble(snapshots, () => [1] as unknown as Float32Array)).rejects.toThrow(TypeError);
  });
});

describe("ensembleSeeds", () => {
  test("member 0 keeps the base seed; seeds are distinct 53-bit integers", () => {
    const seeds = ensembleSeeds(42, 50);
    expect(seeds.length).toBe(50);
    expect(seeds[0]).toBe(42);
    expect(new Set(seeds).size).toBe(50);
    for (const s of seeds) expect(Number.isSafeInteger(s) && s >= 0).toBe(true);
  });

  test("deterministic, a prefix for fewer members, different for another base seed", () => {
    expect(ensembleSeeds(42, 5)).toEqual(ensembleSeeds(42, 5));
    expect(ensembleSeeds(42, 8).slice(0, 5)).toEqual(ensembleSeeds(42, 5));
    expect(ensembleSeeds(43, 5).slice(1)).not.toEqual(ensembleSeeds(42, 5).slice(1));
    expect(ensembleSeeds(7, 1)).toEqual([7]);
  });

  test("validates", () => {
    expect(() => ensembleSeeds(-1, 3)).toThrow(/'baseSeed' must be an integer in \[0, 2\^53\), current value is -1/);
    expect(() => ensembleSeeds(1.5, 3)).toThrow(RangeError);
    expect(() => ensembleSeeds(1, 0)).toThrow(/'members' must be an integer in \[1, 1000000\], current value is 0/);
    expect(() => ensembleSeeds(1, 2.5)).toThrow(RangeError);
  });
});
