import { describe, expect, test } from "vitest";
import {
  accuracy,
  classRates,
  confusionMatrix,
  countCorrect,
  errorRate,
  mergeConfusionMatrices,
  predictClasses,
  predictedClass,
} from "../../core/metrics.ts";
import { evaluate } from "../../core/model/engine.ts";
import { parseModelSpec, planModel } from "../../core/model/spec.ts";
import { useBackend } from "../../core/tf.ts";

// Six examples, three classes. Predicted (argmax) vs true, worked out by hand:
// row 0 [0.8 0.1 0.1] → 0, true 0  ✓
// row 1 [0.2 0.7 0.1] → 1, true 1  ✓
// row 2 [0.3 0.3 0.4] → 2, true 1  ✗
// row 3 [0.6 0.2 0.2] → 0, true 2  ✗
// row 4 [0.1 0.1 0.8] → 2, true 2  ✓
// row 5 [NaN 0.5 0.5] → -1 (NaN), true 0  ✗ (invalid)
const outputs = new Float32Array([
  0.8, 0.1, 0.1,
  0.2, 0.7, 0.1,
  0.3, 0.3, 0.4,
  0.6, 0.2, 0.2,
  0.1, 0.1, 0.8,
  NaN, 0.5, 0.5,
]);
const labels = new Int32Array([0, 1, 1, 2, 2, 0]);

describe("predictClasses", () => {
  test("argmax per row, first index on ties, -1 on NaN", () => {
    expect([...predictClasses(outputs, 3)]).toEqual([0, 1, 2, 0, 2, -1]);
    expect([...predictClasses(new Float32Array([0.4, 0.4, 0.2, 0.1, 0.45, 0.45]), 3)]).toEqual([0, 1]);
  });

  test("sigmoid outputs (width 1) use output > 0.5", () => {
    expect([...predictClasses(new Float32Array([0.2, 0.5, 0.51, 0.9, NaN]), 1)]).toEqual([0, 0, 1, 1, -1]);
  });

  test("validates", () => {
    expect(() => predictClasses(outputs, 4)).toThrow(/'outputs.length' must be a multiple of 'width' \(4\), current value is 18/);
    expect(() => predictClasses(outputs, 0)).toThrow(RangeError);
    expect(() => predictClasses([0.1, 0.9] as unknown as Float32Array, 2)).toThrow(TypeError);
  });
});

describe("predictedClass: one rule for every place that turns outputs into a class", () => {
  test("a row holding a NaN anywhere has no class (-1), whatever its other values", () => {
    const rows = new Float32Array([NaN, 0.9, 0.1, 0.9, NaN, 0.1, 0.9, 0.1, NaN, 0.2, 0.7, 0.1]);
    expect([0, 1, 2, 3].map((i) => predictedClass(rows, i, 3))).toEqual([-1, -1, -1, 1]);
    const sigmoid = new Float32Array([NaN, 0.7, 0.3]);
    expect([0, 1, 2].map((i) => predictedClass(sigmoid, i, 1))).toEqual([-1, 1, 0]);
  });

  test("the engine's on-device correct count follows it: a row whose outputs overflow to NaN is never correct", async () => {
    await useBackend("wasm");
    // Row 0: z = 1e10·1e30 + 1e10·(−1e30) = ∞ − ∞ = NaN in float32 (the products overflow); row 1:
    // z = b, class 0. Both labels are 0. tf.argMax and z > 0 call the NaN row class 0 (correct).
    const cases = [
      { output: "softmax" as const, units: 2, W: [1e30, 1e30, -1e30, -1e30], b: [1, -1] },
      { output: "sigmoid" as const, units: 1, W: [1e30, -1e30], b: [-1] },
    ];
    for (const { output, units, W, b } of cases) {
      const plan = planModel(parseModelSpec({ input: [2], layers: [{ type: "dense", units }], output }));
      const params = { "dense0.W": new Float32Array(W), "dense0.b": new Float32Array(b) };
      const labels = new Int32Array([0, 0]);
      const batch = { inputs: new Float32Array([1e10, 1e10, 0, 0]), labels, indices: new Int32Array([0, 1]) };
      const result = await evaluate(plan, params, {}, batch, { chunkSize: 2, outputs: true });
      expect(predictedClass(result.outputs!, 0, units), output).toBe(-1);
      expect(predictedClass(result.outputs!, 1, units), output).toBe(0);
      expect(result.correct, output).toBe(1);
    }
  });
});

describe("counts and rates", () => {
  test("class-index labels: width inferred", () => {
    expect(countCorrect(outputs, labels)).toEqual({ correct: 3, count: 6 });
    expect(accuracy(outputs, labels)).toBe(0.5);
    expect(errorRate(outputs, labels)).toBe(0.5);
  });

  test("one-hot Float32Array targets", () => {
    const oneHot = new Float32Array(18);
    labels.forEach((t, i) => (oneHot[i * 3 + t] = 1));
    expect(countCorrect(outputs, oneHot, { width: 3 })).toEqual({ correct: 3, count: 6 });
  });

  test("binary sigmoid outputs with 0/1 targets or indices", () => {
    // predicted 0, 1, 1, 0 against 0, 1, 0, 1: 2 correct of 4.
    const out = new Float32Array([0.1, 0.9, 0.7, 0.5]);
    expect(accuracy(out, new Int32Array([0, 1, 0, 1]))).toBe(0.5);
    expect(errorRate(out, new Float32Array([0, 1, 0, 1]), { width: 1 })).toBe(0.5);
    expect(() => accuracy(out, new Float32Array([0, 1, 0.3, 1]), { width: 1 })).toThrow(
      /'labels\[2\]' must be 0 or 1 for a binary output, current value is 0\.3/,
    );
  });

  test("regression with a tolerance: every column of the row within it", () => {
    // Width 2, tolerance 0.125 (values exact in float32): row 0 diffs 0.0625, 0 → correct;
    // row 1 diffs 0, 0.5 → wrong; row 2 diffs 0.125 (= tolerance, counts), 0 → correct. 2 of 3.
    const out = new Float32Array([1, 2, 3, 4, 5, 6]);
    const target = new Float32Array([1.0625, 2, 3, 4.5, 5.125, 6]);
    expect(countCorrect(out, target, { width: 2, tolerance: 0.125 })).toEqual({ correct: 2, count: 3 });
    expect(countCorrect(new Float32Array([NaN]), new Float32Array([0]), { width: 1, tolerance: 1 }).correct).toBe(0);
    expect(() => countCorrect(out, new Int32Array(3), { tolerance: 0.1 })).toThrow(TypeError);
    expect(() => countCorrect(out, target, { width: 2, tolerance: -1 })).toThrow(/'tolerance' must be a finite number >= 0/);
  });

  test("validates labels and shapes", () => {
    expect(() => countCorrect(outputs, new Int32Array([0, 1, 3, 0, 0, 0]))).toThrow(
      /'labels\[2\]' must be a class index in \[0, 2\], current value is 3/,
    );
    expect(() => countCorrect(outputs, new Int32Array(5))).toThrow(/positive multiple of 'labels.length' \(5\)/);
    expect(() => countCorrect(outputs, new Int32Array(5), { width: 3 })).toThrow(
      /'labels.length' must equal the number of output rows \(6\), current value is 5/,
    );
    expect(() => countCorrect(outputs, new Float32Array(18))).toThrow(/'width' is required with Float32Array targets/);
    expect(() => countCorrect(outputs, new Float32Array(9), { width: 3 })).toThrow(RangeError);
    expect(() => countCorrect(outputs, [0, 1] as unknown as Int32Array)).toThrow(TypeError);
    expect(countCorrect(new Float32Array(0), new Int32Array(0))).toEqual({ correct: 0, count: 0 });
    expect(() => accuracy(new Float32Array(0), new Int32Array(0))).toThrow(/no examples/);
    expect(() => errorRate(new Float32Array(0), new Int32Array(0))).toThrow(/no examples/);
  });
});

describe("confusion matrix", () => {
  test("rows are true classes, columns predicted; NaN rows in invalid", () => {
    const cm = confusionMatrix(outputs, labels);
    expect(cm.classes).toBe(3);
    // true 0: one predicted 0, one NaN; true 1: one 1, one 2; true 2: one 0, one 2.
    expect([...cm.counts]).toEqual([1, 0, 0, 0, 1, 1, 1, 0, 1]);
    expect([...cm.invalid]).toEqual([1, 0, 0]);
    // The diagonal is the correct count.
    expect(cm.counts[0] + cm.counts[4] + cm.counts[8]).toBe(countCorrect(outputs, labels).correct);
  });

  test("binary outputs give a 2 × 2 matrix", () => {
    // predicted 0, 1, 1, 0 vs true 0, 1, 0, 1 → TN 1, FP 1, FN 1, TP 1.
    const cm = confusionMatrix(new Float32Array([0.1, 0.9, 0.7, 0.5]), new Int32Array([0, 1, 0, 1]));
    expect(cm.classes).toBe(2);
    expect([...cm.counts]).toEqual([1, 1, 1, 1]);
  });

  test("per-class precision, recall, F1", () => {
    const rates = classRates(confusionMatrix(outputs, labels));
    expect([...rates.support]).toEqual([2, 2, 2]);
    // column sums 2, 1, 2 with diagonal 1, 1, 1
    expect([...rates.precision]).toEqual([0.5, 1, 0.5]);
    // row sums (NaN row included for class 0) 2, 2, 2
    expect([...rates.recall]).toEqual([0.5, 0.5, 0.5]);
    // F1 = 2PR/(P+R): 0.5, 2·1·0.5/1.5 = 2/3, 0.5
    expect(rates.f1[0]).toBe(0.5);
    expect(rates.f1[1]).toBeCloseTo(2 / 3, 15);
    expect(rates.f1[2]).toBe(0.5);
  });

  test("rates with empty denominators are NaN; F1 is 0 when P = R = 0", () => {
    const rates = classRates({ classes: 2, counts: new Int32Array([0, 3, 0, 0]), invalid: new Int32Array(2) });
    expect(rates.precision[0]).toBeNaN(); // nothing predicted as 0
    expect(rates.recall[1]).toBeNaN(); // no example of class 1
    expect(rates.precision[1]).toBe(0);
    expect(rates.recall[0]).toBe(0);
    expect(rates.f1[0]).toBeNaN();
  });

  test("merging per-shard matrices equals the matrix of the whole", () => {
    const first = confusionMatrix(outputs.subarray(0, 9), labels.subarray(0, 3));
    const second = confusionMatrix(outputs.subarray(9), labels.subarray(3));
    const merged = mergeConfusionMatrices([first, second]);
    const whole = confusionMatrix(outputs, labels);
    expect([...merged.counts]).toEqual([...whole.counts]);
    expect([...merged.invalid]).toEqual([...whole.invalid]);
    expect(() => mergeConfusionMatrices([])).toThrow(RangeError);
    expect(() => mergeConfusionMatrices([first, confusionMatrix(new Float32Array([0.2]), new Int32Array([0]))])).toThrow(
      /'matrices\[1\].classes' must be 3, current value is 2/,
    );
  });

  test("refuses regression targets", () => {
    expect(() => confusionMatrix(new Float32Array(2), new Float32Array(2), { width: 1, tolerance: 0.1 })).toThrow(TypeError);
  });
});
