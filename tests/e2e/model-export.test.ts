/**
 * Model export from a real Deno coordinator (trained on a real Deno worker, API token set):
 * `tf.loadLayersModel` on the coordinator's URL and an onnxruntime-web session on the SDK's
 * download give `/predict`'s outputs to 1e-5 for a batch-norm ensemble on standardized inputs.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import "@tensorflow/tfjs-backend-cpu";
import * as tfc from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import * as ort from "onnxruntime-web";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EdgepropClient } from "../../clients/sdk/mod.ts";
import { startCoordinator } from "../helpers/coordinator-process.ts";
import type { ServerProcess } from "../helpers/server-process.ts";
import { within } from "../helpers/wait.ts";
import { startWorker, type WorkerProcess } from "../helpers/worker-process.ts";

const SECRET = "export-e2e-secret-0123456789";
const TOKEN = "export-e2e-token";
let worker: WorkerProcess;
let coordinator: ServerProcess;
let dir: string;

beforeAll(async () => {
  await tfc.setBackend("cpu"); // as a user of the tfjs packages would, not through edgeprop's bundle
  ort.env.wasm.numThreads = 1;
  worker = await startWorker("deno", { secret: SECRET });
  dir = await mkdtemp(join(tmpdir(), "edgeprop-export-e2e-"));
  coordinator = await startCoordinator({ dataDir: dir, workers: [worker.url], secret: SECRET, apiToken: TOKEN });
}, 60_000);

afterAll(async () => {
  await coordinator?.stop();
  await worker?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Largest |a − b| over all outputs (probabilities). */
function worst(actual: ArrayLike<number>, expected: number[][]): number {
  const flat = expected.flat();
  expect(actual.length).toBe(flat.length);
  return flat.reduce((max, v, i) => Math.max(max, Math.abs(actual[i] - v)), 0);
}

describe("model export from a Deno coordinator", () => {
  it("the tfjs LayersModel and the ONNX model give /predict's outputs", async () => {
    const client = new EdgepropClient({ baseUrl: coordinator.url, token: TOKEN });
    const { id } = await client.submitJob({
      name: "export-e2e",
      dataset: { id: "builtin:circles" },
      model: { input: [2], layers: [{ type: "dense", units: 8 }, { type: "batchnorm" }, { type: "relu" }, { type: "dense", units: 2 }], output: "softmax" },
      ensemble: { members: 2 },
      epochs: 2,
      batchSize: 50,
    });
    await within((async () => { for await (const _ of client.watch(id)); })(), `job ${id} to end`, 120_000);
    expect((await client.getJob(id)).status).toBe("succeeded");
    const rows = Array.from({ length: 32 }, (_, i) => [Math.cos(i) * (i % 5) * 0.4, Math.sin(i) * (i % 7) * 0.3]);
    const { outputs } = await client.predict(id, rows);

    const model = await tfl.loadLayersModel(client.exportUrl(id, "tfjs"), { requestInit: { headers: { authorization: `Bearer ${TOKEN}` } } });
    const x = tfc.tensor2d(rows, undefined, "float32");
    const y = model.predict(x) as tfc.Tensor;
    const tfjs = worst(await y.data(), outputs);
    tfc.dispose([x, y]);
    model.dispose();

    const files = await client.downloadExport(id, "onnx");
    const session = await ort.InferenceSession.create(files.get("model.onnx")!);
    const result = await session.run({ input: new ort.Tensor("float32", Float32Array.from(rows.flat()), [rows.length, 2]) });
    const onnx = worst(result.output.data as Float32Array, outputs);
    await session.release();

    console.log(`Deno coordinator export: worst difference to /predict: tfjs ${tfjs.toExponential(2)}, onnx ${onnx.toExponential(2)}`);
    expect(tfjs).toBeLessThanOrEqual(1e-5);
    expect(onnx).toBeLessThanOrEqual(1e-5);
  });
});
