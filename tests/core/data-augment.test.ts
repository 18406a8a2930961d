import { ValidationError } from "../../core/validation-error.ts";
import { describe, expect, test } from "vitest";
import { augmentBatch, augmentExample, validateAugmentOptions } from "../../core/data/augment.ts";

// A 3×3 one-channel image:
//   1 2 3
//   4 5 6
//   7 8 9
const IMAGE = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 9]);

// Every shift (dy, dx) ∈ {−1, 0, 1}² of IMAGE, worked out by hand from out[y][x] = in[y − dy][x − dx]
// (zero outside): dy = 1 moves the content down one row, dx = 1 right one column.
const SHIFTED: Record<string, number[]> = {
  "-1,-1": [5, 6, 0, 8, 9, 0, 0, 0, 0],
  "-1,0": [4, 5, 6, 7, 8, 9, 0, 0, 0],
  "-1,1": [0, 4, 5, 0, 7, 8, 0, 0, 0],
  "0,-1": [2, 3, 0, 5, 6, 0, 8, 9, 0],
  "0,0": [1, 2, 3, 4, 5, 6, 7, 8, 9],
  "0,1": [0, 1, 2, 0, 4, 5, 0, 7, 8],
  "1,-1": [0, 0, 0, 2, 3, 0, 5, 6, 0],
  "1,0": [0, 0, 0, 1, 2, 3, 4, 5, 6],
  "1,1": [0, 0, 0, 0, 1, 2, 0, 4, 5],
};
const MIRRORED = [3, 2, 1, 6, 5, 4, 9, 8, 7];

describe("augmentExample", () => {
  test("flip: applying it twice with the same key is the identity; about half the keys flip", () => {
    let flipped = 0;
    for (let index = 0; index < 2000; index++) {
      const key = { seed: 1, epoch: 0, index };
      const once = augmentExample(IMAGE, [3, 3, 1], { flipHorizontal: true }, key);
      const twice = augmentExample(once, [3, 3, 1], { flipHorizontal: true }, key);
      expect(twice).toEqual(IMAGE);
      if ([...once].join() === MIRRORED.join()) flipped++;
      else expect(once).toEqual(IMAGE);
    }
    // Binomial(2000, 0.5): mean 1000, sd ≈ 22.4; ±5 sd.
    expect(Math.abs(flipped - 1000)).toBeLessThan(112);
  });

  test("flip keeps the channels of a pixel together", () => {
    // 1×3 image with 2 channels: pixels (a0, a1), (b0, b1), (c0, c1) → (c0, c1), (b0, b1), (a0, a1).
    const row = new Float32Array([1, 2, 3, 4, 5, 6]);
    const outs = new Set<string>();
    for (let index = 0; index < 50; index++) {
      outs.add([...augmentExample(row, [1, 3, 2], { flipHorizontal: true }, { seed: 0, epoch: 0, index })].join());
    }
    expect([...outs].sort()).toEqual(["1,2,3,4,5,6", "5,6,3,4,1,2"]);
  });

  test("shift by up to 1 pixel gives exactly the nine hand-computed images, each about equally often", () => {
    const seen = new Map<string, number>();
    for (let index = 0; index < 900; index++) {
      const out = [...augmentExample(IMAGE, [3, 3, 1], { shift: 1 }, { seed: 3, epoch: 2, index })];
      const match = Object.entries(SHIFTED).find(([, v]) => v.join() === out.join());
      expect(match, `index ${index}: ${out.join()}`).toBeDefined();
      seen.set(match![0], (seen.get(match![0]) ?? 0) + 1);
    }
    expect([...seen.keys()].sort()).toEqual(Object.keys(SHIFTED).sort());
    // Each with probability 1/9: 100 expected, sd ≈ 9.4.
    for (const count of seen.values()) expect(Math.abs(count - 100)).toBeLessThan(50);
  });

  test("flip then shift", () => {
    // The results are the nine shifts of the mirrored image or of the image itself.
    const mirroredShifts = new Set<string>();
    for (const v of Object.values(SHIFTED)) {
      // Shifting the mirror by (dy, dx) = mirroring the shift by (dy, −dx): build from SHIFTED.
      const m = [v[2], v[1], v[0], v[5], v[4], v[3], v[8], v[7], v[6]];
      mirroredShifts.add(m.join());
    }
    const plain = new Set(Object.values(SHIFTED).map((v) => v.join()));
    let sawMirror = false;
    for (let index = 0; index < 200; index++) {
      const out = [...augmentExample(IMAGE, [3, 3], { shift: 1, flipHorizontal: true }, { seed: 9, epoch: 0, index })].join();
      expect(plain.has(out) || mirroredShifts.has(out)).toBe(true);
      if (!plain.has(out)) sawMirror = true;
    }
    expect(sawMirror).toBe(true);
  });

  test("Gaussian noise: empirical mean 0 and std σ", () => {
    const sigma = 0.1;
    const zero = new Float32Array(28 * 28);
    const values: number[] = [];
    for (let index = 0; index < 20; index++) {
      values.push(...augmentExample(zero, [28, 28, 1], { noise: sigma }, { seed: 8, epoch: 1, index }));
    }
    const n = values.length; // 15,680
    const mean = values.reduce((a, b) => a + b, 0) / n;
    const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
    // Standard error of the mean σ/√n ≈ 0.0008; of the std ≈ σ/√(2n) ≈ 0.00056: 5 standard errors.
    expect(Math.abs(mean)).toBeLessThan(0.004);
    expect(Math.abs(std - sigma)).toBeLessThan(0.003);
  });

  test("no options: a copy of the row", () => {
    const out = augmentExample(IMAGE, [3, 3, 1], {}, { seed: 0, epoch: 0, index: 0 });
    expect(out).toEqual(IMAGE);
    expect(out).not.toBe(IMAGE);
  });
});

describe("determinism", () => {
  const options = { flipHorizontal: true, shift: 2, noise: 0.05 };
  const shape = [4, 4, 1];
  const example = (i: number) => Float32Array.from({ length: 16 }, (_, p) => i * 100 + p);

  test("an example's result depends on (seed, epoch, index), not on its batch", () => {
    const rows = (ids: number[]) => {
      const f = new Float32Array(ids.length * 16);
      ids.forEach((id, r) => f.set(example(id), r * 16));
      return f;
    };
    const a = augmentBatch(rows([5, 9, 2]), shape, options, { seed: 1, epoch: 3, indices: [5, 9, 2] });
    const b = augmentBatch(rows([2, 7, 5]), shape, options, { seed: 1, epoch: 3, indices: [2, 7, 5] });
    expect(a.subarray(0, 16)).toEqual(b.subarray(32, 48)); // example 5
    expect(a.subarray(32, 48)).toEqual(b.subarray(0, 16)); // example 2
    expect(a.subarray(0, 16)).toEqual(augmentExample(example(5), shape, options, { seed: 1, epoch: 3, index: 5 }));
    expect(a.subarray(16, 32)).toEqual(augmentExample(example(9), shape, options, { seed: 1, epoch: 3, index: 9 }));
  });

  test("same key, same result; another epoch, seed or index, another result", () => {
    const x = example(1);
    const key = { seed: 1, epoch: 0, index: 4 };
    const base = augmentExample(x, shape, options, key);
    expect(augmentExample(x, shape, options, key)).toEqual(base);
    expect(augmentExample(x, shape, options, { ...key, epoch: 1 })).not.toEqual(base);
    expect(augmentExample(x, shape, options, { ...key, seed: 2 })).not.toEqual(base);
    expect(augmentExample(x, shape, options, { ...key, index: 5 })).not.toEqual(base);
  });

  test("turning noise on does not change the flip and shift draws", () => {
    for (let index = 0; index < 50; index++) {
      const key = { seed: 4, epoch: 0, index };
      const geometric = augmentExample(IMAGE, [3, 3, 1], { shift: 1, flipHorizontal: true }, key);
      const noisy = augmentExample(IMAGE, [3, 3, 1], { shift: 1, flipHorizontal: true, noise: 1e-3 }, key);
      for (let p = 0; p < 9; p++) expect(Math.abs(noisy[p] - geometric[p])).toBeLessThan(0.01);
    }
  });
});

describe("validation", () => {
  test("options", () => {
    expect(() => validateAugmentOptions({ shift: 1.5 }, [3, 3, 1])).toThrow(
      new ValidationError("shift", "Cannot augment: 'shift' must be an integer in [0, 3) for a 3×3 image, current value is 1.5"),
    );
    expect(() => validateAugmentOptions({ shift: -1 }, [3, 3, 1])).toThrow(ValidationError);
    expect(() => validateAugmentOptions({ shift: 3 }, [3, 5, 1])).toThrow(
      new ValidationError("shift", "Cannot augment: 'shift' must be an integer in [0, 3) for a 3×5 image, current value is 3"),
    );
    expect(() => validateAugmentOptions({ shift: "2" } as never, [3, 3, 1])).toThrow(ValidationError);
    expect(() => validateAugmentOptions({ noise: -0.1 }, [3, 3, 1])).toThrow(
      new ValidationError("noise", "Cannot augment: 'noise' must be a finite number ≥ 0, current value is -0.1"),
    );
    expect(() => validateAugmentOptions({ noise: Infinity }, [3, 3, 1])).toThrow(ValidationError);
    expect(() => validateAugmentOptions({ flipHorizontal: "yes" } as never, [3, 3, 1])).toThrow(
      new ValidationError("flipHorizontal", `Cannot augment: 'flipHorizontal' must be a boolean, current value is "yes"`),
    );
    expect(() => validateAugmentOptions({ rotate: 10 } as never, [3, 3, 1])).toThrow(
      new ValidationError("augment.rotate", "Cannot augment: unknown field 'augment.rotate'; the fields are 'flipHorizontal', 'shift', 'noise'"),
    );
    expect(() => validateAugmentOptions({}, [784])).toThrow(
      new ValidationError("inputShape", "Cannot augment: 'inputShape' must be [height, width, channels], current value is [784]"),
    );
    expect(() => validateAugmentOptions({}, [28, 0, 1])).toThrow(ValidationError);
    expect(() => validateAugmentOptions({ flipHorizontal: false, shift: 2, noise: 0 }, [28, 28, 1])).not.toThrow();
  });

  test("rows and keys", () => {
    expect(() => augmentExample(new Float32Array(8), [3, 3, 1], {}, { seed: 0, epoch: 0, index: 0 })).toThrow(
      new TypeError("Cannot augment: the row must have 9 values for shape [3,3,1], current value is 8"),
    );
    expect(() => augmentExample(IMAGE, [3, 3, 1], {}, { seed: 0, epoch: 0, index: -1 })).toThrow(
      new RangeError("Cannot augment: 'index' must be an integer in [0, 2^32), current value is -1"),
    );
    expect(() => augmentExample(IMAGE, [3, 3, 1], {}, { seed: -1, epoch: 0, index: 0 })).toThrow(RangeError);
    expect(() => augmentBatch(new Float32Array(9), [3, 3, 1], {}, { seed: 0, epoch: 0, indices: [0, 1] })).toThrow(
      new TypeError("Cannot augment: the features must have 2 rows of 9 values (18), current value is 9"),
    );
  });
});
