/**
 * A trained job's model artifact (`GET /v1/jobs/:id/model`): its spec, every ensemble member's
 * parameters and batch-norm running statistics, the input normalization fitted on the training
 * split and the class names; and prediction from it (`POST /v1/jobs/:id/predict`).
 */
import { normalizeFeatures, type Normalization } from "../../core/data/mod.ts";
import { averageOutputs } from "../../core/ensemble.ts";
import { HttpError } from "../../core/http/http-error.ts";
import type { JobSpec } from "../../core/job/spec.ts";
import { predictedClass } from "../../core/metrics.ts";
import { evaluate } from "../../core/model/engine.ts";
import type { NamedArrays } from "../../core/model/parameters.ts";
import { planModel } from "../../core/model/spec.ts";
import { decode, encode } from "../../core/wire/codec.ts";

export interface ModelArtifact {
  readonly spec: JobSpec;
  readonly members: readonly { readonly parameters: NamedArrays; readonly batchNorm: NamedArrays }[];
  readonly normalization: Normalization | null;
  readonly classNames: readonly string[] | null;
}

/** Rows one `/predict` request may carry. */
export const MAX_PREDICT_ROWS = 65_536;

export function encodeArtifact(artifact: ModelArtifact): Uint8Array {
  return encode(artifact).slice();
}

export function decodeArtifact(bytes: Uint8Array): ModelArtifact {
  return decode(bytes) as ModelArtifact;
}

/**
 * Outputs and predicted classes of a model for raw (un-normalized) inputs, `number[][]` as a
 * client sends them; a row with a NaN output has no class (null). Throws HttpError 400 naming the
 * bad element.
 */
export async function predict(artifact: ModelArtifact, inputs: unknown): Promise<{ outputs: number[][]; classes: (string | null)[] }> {
  const plan = planModel(artifact.spec.model);
  const n = plan.inputSize;
  if (!Array.isArray(inputs) || inputs.length === 0 || inputs.length > MAX_PREDICT_ROWS) {
    throw new HttpError(400, "invalid_field", `'inputs' must be a non-empty array of at most ${MAX_PREDICT_ROWS} rows`, { field: "inputs" });
  }
  const m = inputs.length;
  const x = new Float32Array(m * n);
  inputs.forEach((row, i) => {
    if (!Array.isArray(row) || row.length !== n) throw new HttpError(400, "invalid_field", `'inputs[${i}]' must be an array of ${n} numbers`, { field: `inputs[${i}]` });
    row.forEach((v, j) => {
      if (typeof v !== "number" || !Number.isFinite(v)) throw new HttpError(400, "invalid_field", `'inputs[${i}][${j}]' must be a finite number, current value is ${JSON.stringify(v)}`, { field: `inputs[${i}][${j}]` });
      x[i * n + j] = v;
    });
  });
  const normalized = artifact.normalization ? normalizeFeatures(x, artifact.normalization) : x;
  const labels = plan.spec.output === "linear" ? new Float32Array(m * plan.outputs) : new Int32Array(m);
  const batch = { inputs: normalized, labels, indices: new Int32Array(m) };
  const memberOutputs: Float32Array[] = [];
  for (const member of artifact.members) {
    const r = await evaluate(plan, member.parameters, member.batchNorm, batch, { chunkSize: artifact.spec.chunkSize, outputs: true });
    memberOutputs.push(r.outputs!);
  }
  const outputs = memberOutputs.length === 1 ? memberOutputs[0] : averageOutputs(memberOutputs);
  const K = plan.outputs;
  const names = plan.spec.output === "linear" ? null : artifact.classNames;
  const rows: number[][] = [];
  const classes: (string | null)[] = [];
  for (let i = 0; i < m; i++) {
    rows.push(Array.from(outputs.subarray(i * K, i * K + K)));
    const c = names ? predictedClass(outputs, i, K) : -1;
    classes.push(names && c >= 0 ? (names[c] ?? null) : null);
  }
  return { outputs: rows, classes };
}
