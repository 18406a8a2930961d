import { describe, expect, test } from "vitest";
import {
  BIAS_RECOMMENDATIONS,
  DEFAULT_DIAGNOSIS_THRESHOLD,
  diagnose,
  VARIANCE_RECOMMENDATIONS,
} from "../../core/diagnosis.ts";

describe("the course's examples (human-level error 0, threshold 0.02)", () => {
  test("train 1%, dev 11%: high variance", () => {
    const d = diagnose({ trainError: 0.01, devError: 0.11 });
    expect(d.verdict).toBe("high variance");
    expect(d.avoidableBias).toBeCloseTo(0.01, 12);
    expect(d.variance).toBeCloseTo(0.1, 12);
    expect(d.focus).toBe("variance");
    expect(d.recommendations).toEqual([...VARIANCE_RECOMMENDATIONS]);
  });

  test("train 15%, dev 16%: high bias", () => {
    const d = diagnose({ trainError: 0.15, devError: 0.16 });
    expect(d.verdict).toBe("high bias");
    expect(d.avoidableBias).toBeCloseTo(0.15, 12);
    expect(d.variance).toBeCloseTo(0.01, 12);
    expect(d.recommendations).toEqual([...BIAS_RECOMMENDATIONS]);
    expect(d.recommendations.join(" ")).toMatch(/bigger network/);
  });

  test("train 15%, dev 30%: high bias and high variance, both recipes without repeats", () => {
    const d = diagnose({ trainError: 0.15, devError: 0.3 });
    expect(d.verdict).toBe("high bias and high variance");
    expect(d.avoidableBias).toBeCloseTo(0.15, 12);
    expect(d.variance).toBeCloseTo(0.15, 12);
    // equal gaps: bias first
    expect(d.focus).toBe("bias");
    expect(d.recommendations.slice(0, 3)).toEqual([...BIAS_RECOMMENDATIONS]);
    expect(new Set(d.recommendations)).toEqual(new Set([...BIAS_RECOMMENDATIONS, ...VARIANCE_RECOMMENDATIONS]));
    expect(d.recommendations.length).toBe(new Set(d.recommendations).size);
  });

  test("train 0.5%, dev 1%: good fit", () => {
    const d = diagnose({ trainError: 0.005, devError: 0.01 });
    expect(d.verdict).toBe("good fit");
    expect(d.focus).toBeNull();
    expect(d.avoidableBias).toBeCloseTo(0.005, 12);
    expect(d.variance).toBeCloseTo(0.005, 12);
    expect(d.recommendations.length).toBe(1);
  });
});

describe("human-level error", () => {
  test("human 14%, train 15%, dev 16%: no longer high bias (gaps 1% and 1%)", () => {
    const d = diagnose({ trainError: 0.15, devError: 0.16, humanError: 0.14 });
    expect(d.verdict).toBe("good fit");
    expect(d.avoidableBias).toBeCloseTo(0.01, 12);
  });

  test("human 7.5%, train 8%, dev 10%: focus on variance (lecture example, 2-point gap counts)", () => {
    const d = diagnose({ trainError: 0.08, devError: 0.1, humanError: 0.075 });
    expect(d.verdict).toBe("high variance");
    expect(d.avoidableBias).toBeCloseTo(0.005, 12);
    expect(d.variance).toBeCloseTo(0.02, 12);
  });

  test("human 1%, train 8%, dev 10%: both high, bias gap (7%) larger so it comes first", () => {
    const d = diagnose({ trainError: 0.08, devError: 0.1, humanError: 0.01 });
    expect(d.verdict).toBe("high bias and high variance");
    expect(d.focus).toBe("bias");
  });

  test("human 0.5%, train 5%, dev 30%: variance gap larger, its recipe first", () => {
    const d = diagnose({ trainError: 0.05, devError: 0.3, humanError: 0.005 });
    expect(d.focus).toBe("variance");
    expect(d.recommendations[0]).toBe(VARIANCE_RECOMMENDATIONS[0]);
  });

  test("a model better than the human estimate has negative avoidable bias", () => {
    const d = diagnose({ trainError: 0.01, devError: 0.015, humanError: 0.02 });
    expect(d.avoidableBias).toBeCloseTo(-0.01, 12);
    expect(d.verdict).toBe("good fit");
  });
});

describe("threshold", () => {
  test("default is 0.02", () => {
    expect(DEFAULT_DIAGNOSIS_THRESHOLD).toBe(0.02);
  });

  test("a larger threshold turns 1%/11% into a good fit, a smaller one turns 0.5%/1% into high bias", () => {
    expect(diagnose({ trainError: 0.01, devError: 0.11 }, { threshold: 0.2 }).verdict).toBe("good fit");
    expect(diagnose({ trainError: 0.005, devError: 0.01 }, { threshold: 0.005 }).verdict).toBe(
      "high bias and high variance",
    );
    expect(diagnose({ trainError: 0.005, devError: 0.01 }, { threshold: 0.004 }).verdict).toBe(
      "high bias and high variance",
    );
    expect(diagnose({ trainError: 0.005, devError: 0.006 }, { threshold: 0.004 }).verdict).toBe("high bias");
  });
});

describe("validation", () => {
  test("errors must be fractions in [0, 1]", () => {
    expect(() => diagnose({ trainError: 1.5, devError: 0.1 })).toThrow(
      new RangeError("Cannot diagnose: 'trainError' must be a fraction in [0, 1], current value is 1.5"),
    );
    expect(() => diagnose({ trainError: 0.1, devError: -0.1 })).toThrow(/'devError' must be a fraction/);
    expect(() => diagnose({ trainError: 0.1, devError: 0.1, humanError: 2 })).toThrow(/'humanError'/);
    expect(() => diagnose({ trainError: NaN, devError: 0.1 })).toThrow(TypeError);
    expect(() => diagnose({ trainError: "0.1" as unknown as number, devError: 0.1 })).toThrow(
      /'trainError' must be a finite number, current value is "0.1"/,
    );
    expect(() => diagnose(null as never)).toThrow(TypeError);
  });

  test("threshold must be in (0, 1]", () => {
    expect(() => diagnose({ trainError: 0.1, devError: 0.1 }, { threshold: 0 })).toThrow(
      /'threshold' must be in \(0, 1\], current value is 0/,
    );
    expect(() => diagnose({ trainError: 0.1, devError: 0.1 }, { threshold: Infinity })).toThrow(TypeError);
  });
});
