/** Jobs trained to the end, over HTTP and in this process: the two sides of the e2e bitwise comparisons. */
import { expect } from "vitest";
import { syntheticDataset } from "../../core/data/mod.ts";
import { parseJobSpec } from "../../core/job/spec.ts";
import { planModel } from "../../core/model/spec.ts";
import { InProcessPool } from "../../coordinator/pool/in-process-pool.ts";
import { prepareData } from "../../coordinator/training/prepared-data.ts";
import { train } from "../../coordinator/training/trainer.ts";
import { api, modelParameters, waitForJob } from "./api.ts";

/** Submits `spec` to the coordinator at `base`, waits for it to succeed; its record and parameters. */
export async function runJob(base: string, spec: object): Promise<{ record: any; params: Record<string, number[]> }> {
  const submitted = await api(base, "/v1/jobs", { body: spec });
  expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
  const record = await waitForJob(base, submitted.body.id);
  expect(record.status, record.error).toBe("succeeded");
  return { record, params: await modelParameters(base, record.id) };
}

/**
 * The same job (on a builtin synthetic set of 1,000 examples) trained in this process with the
 * in-process pool cut into `workers` shards: the reference bits.
 */
export async function inProcessParameters(job: object, options: { workers?: number } = {}): Promise<Record<string, number[]>> {
  const spec = parseJobSpec(job);
  const plan = planModel(spec.model);
  const data = prepareData(syntheticDataset(spec.dataset.id.slice("builtin:".length), { seed: 1, examples: 1000 }), spec, plan);
  const pool = new InProcessPool({ workers: options.workers ?? 1 });
  const result = await train({ spec, plan, data, pool, signal: new AbortController().signal, emit: () => {}, checkpoint: async () => {} });
  return Object.fromEntries(Object.entries(result.members[0].params).map(([k, v]) => [k, Array.from(v)]));
}
