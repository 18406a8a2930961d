/**
 * The coordinator's two users of core/metrics.ts's predictedClass: ensemble scoring
 * (scoreOutputs) and POST /v1/jobs/:id/predict (JobManager.predict). A row whose outputs hold a
 * NaN has no predicted class: it is never counted correct, and predict answers null for its class.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseJobSpec } from "../../core/job/spec.ts";
import { planModel } from "../../core/model/spec.ts";
import { useBackend } from "../../core/tf.ts";
import { encode } from "../../core/wire/codec.ts";
import { DatasetRegistry } from "../../coordinator/datasets/registry.ts";
import { JobManager } from "../../coordinator/jobs/job-manager.ts";
import { InProcessPool } from "../../coordinator/pool/in-process-pool.ts";
import { FileStore } from "../../coordinator/store/file-store.ts";
import { scoreOutputs } from "../../coordinator/training/evaluation.ts";

const classes = (labels: number[]) => ({
  name: "t",
  features: new Float32Array(labels.length),
  shape: [labels.length, 1] as const,
  labels: { kind: "classes" as const, values: new Int32Array(labels), classes: ["a", "b", "c"] },
});

describe("scoreOutputs (ensemble scoring)", () => {
  it("never counts a NaN row as correct, wherever the NaN is", () => {
    const plan = planModel(parseJobSpec({ dataset: { id: "builtin:moons" }, model: { input: [1], layers: [{ type: "dense", units: 3 }], output: "softmax" } }).model);
    // Row 0 is right; rows 1 and 2 hold a NaN and their label is the class a NaN comparison leaves standing.
    const outputs = new Float32Array([0.8, 0.1, 0.1, NaN, 0.5, 0.5, 0.6, NaN, 0.4]);
    expect(scoreOutputs(plan, outputs, classes([0, 0, 0])).error).toBeCloseTo(2 / 3, 12);
  });

  it("never counts a NaN sigmoid output as class 0", () => {
    const plan = planModel(parseJobSpec({ dataset: { id: "builtin:moons" }, model: { input: [1], layers: [{ type: "dense", units: 1 }], output: "sigmoid" } }).model);
    expect(scoreOutputs(plan, new Float32Array([0.2, NaN]), classes([0, 0])).error).toBe(0.5);
  });
});

describe("JobManager.predict", () => {
  let dir: string;
  let jobs: JobManager;
  let store: FileStore;

  beforeAll(async () => {
    await useBackend("wasm");
    dir = await mkdtemp(join(tmpdir(), "edgeprop-predicted-class-"));
    store = new FileStore(dir);
    jobs = new JobManager({ store, registry: new DatasetRegistry(store), defaultWorkers: ["in-process"], createPool: async () => new InProcessPool({ workers: 1 }) });
  });

  afterAll(async () => {
    await jobs.shutdown();
    await rm(dir, { recursive: true, force: true });
  });

  it("answers null as the class of a row whose outputs are NaN", async () => {
    // z = x₀·1e30 + x₁·(−1e30): ∞ − ∞ = NaN for the input [1e10, 1e10], the bias for [0, 0].
    for (const [output, W, b] of [["softmax", [1e30, 1e30, -1e30, -1e30], [1, -1]], ["sigmoid", [1e30, -1e30], [-1]]] as const) {
      const spec = parseJobSpec({ dataset: { id: "builtin:moons" }, model: { input: [2], layers: [{ type: "dense", units: b.length }], output } });
      const id = `job_${output}`;
      const members = [{ parameters: { "dense0.W": new Float32Array(W), "dense0.b": new Float32Array(b) }, batchNorm: {} }];
      await store.putModel(id, encode({ spec, members, normalization: null, classNames: ["a", "b"] }).slice());
      const predicted = await jobs.predict(id, [[1e10, 1e10], [0, 0]]);
      expect(predicted.outputs[0].every(Number.isNaN), output).toBe(true);
      expect(predicted.classes, output).toEqual([null, "a"]);
    }
  });
});
