/**
 * Model export over real HTTP: the TensorFlow.js LayersModel is loaded by @tensorflow/tfjs-layers'
 * own `loadLayersModel` from the coordinator's URL, the ONNX model by onnxruntime-web, and both
 * must give what `/predict` gives for the same raw inputs, to 1e-5, on trained models with every
 * layer type and output head, an ensemble and normalized datasets (standardize, minmax, none).
 * `edgeprop export` (a spawned CLI) writes the same files the URLs serve.
 */
import type { AddressInfo } from "node:net";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve, type ServerType } from "@hono/node-server";
import * as tfc from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import * as ort from "onnxruntime-web";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCoordinatorApp } from "../../coordinator/app.ts";
import { DatasetRegistry } from "../../coordinator/datasets/registry.ts";
import { JobManager } from "../../coordinator/jobs/job-manager.ts";
import { InProcessPool } from "../../coordinator/pool/in-process-pool.ts";
import { ModelProto } from "../../coordinator/export/onnx-schema.ts";
import { FileStore } from "../../coordinator/store/file-store.ts";
import { EdgepropClient } from "../../clients/sdk/mod.ts";
import { useBackend } from "../../core/tf.ts";
import { edgepropBin, runCommand } from "../helpers/processes.ts";
import { within } from "../helpers/wait.ts";

const TOKEN = "export-token";
const auth = { authorization: `Bearer ${TOKEN}` };
let dir: string;
let jobs: JobManager;
let server: ServerType;
let base: string;

const common = { optimizer: { type: "adam", learningRate: 0.02 }, batchSize: 50, chunkSize: 25, epochs: 3 };
/** Every layer type, a softmax head, standardized inputs. */
const softmaxJob = {
  ...common,
  dataset: { id: "builtin:blobs", normalize: "standardize" },
  model: {
    input: [2],
    layers: [
      { type: "dense", units: 8 }, { type: "batchnorm" }, { type: "relu" }, { type: "dropout", keepProb: 0.8 },
      { type: "dense", units: 6 }, { type: "leakyRelu", alpha: 0.2 },
      { type: "dense", units: 6 }, { type: "tanh" },
      { type: "dense", units: 5 }, { type: "batchnorm", epsilon: 1e-3 }, { type: "sigmoid" },
      { type: "dense", units: 4 }, { type: "linear" },
      { type: "dense", units: 3 },
    ],
    output: "softmax",
  },
};
/** A 3-member ensemble with a sigmoid head on min-max scaled inputs. */
const sigmoidEnsembleJob = {
  ...common,
  dataset: { id: "builtin:moons", normalize: "minmax" },
  model: { input: [2], layers: [{ type: "dense", units: 8 }, { type: "batchnorm" }, { type: "tanh" }, { type: "dense", units: 1 }], output: "sigmoid" },
  ensemble: { members: 3 },
};
/** Regression (linear head) on raw inputs of an uploaded dataset. */
const linearJob = (dataset: string) => ({
  ...common,
  dataset: { id: dataset, normalize: "none" },
  model: { input: [3], layers: [{ type: "dense", units: 6 }, { type: "batchnorm" }, { type: "relu" }, { type: "dense", units: 1 }], output: "linear" },
});

/** Deterministic raw inputs: rows of `n` features spread over [lo, hi]. */
function inputs(rows: number, n: number, lo: number, hi: number): number[][] {
  return Array.from({ length: rows }, (_, i) => Array.from({ length: n }, (_, j) => lo + ((i * 7919 + j * 104729) % 1000) / 1000 * (hi - lo)));
}

async function request(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${base}${path}`, { ...init, headers: { ...auth, ...init.headers } });
}

async function trained(spec: object): Promise<string> {
  const response = await request("/v1/jobs", { method: "POST", body: JSON.stringify(spec), headers: { "content-type": "application/json" } });
  expect(response.status).toBe(201);
  const { id } = (await response.json()) as { id: string };
  await within(jobs.settled(id), `job ${id} to end`, 120_000);
  const record = (await (await request(`/v1/jobs/${id}`)).json()) as { status: string; error: unknown };
  expect(record, JSON.stringify(record.error)).toMatchObject({ status: "succeeded" });
  return id;
}

async function predicted(id: string, rows: number[][]): Promise<number[][]> {
  const response = await request(`/v1/jobs/${id}/predict`, { method: "POST", body: JSON.stringify({ inputs: rows }), headers: { "content-type": "application/json" } });
  expect(response.status).toBe(200);
  return ((await response.json()) as { outputs: number[][] }).outputs;
}

async function viaTfjs(id: string, rows: number[][], url = `${base}/v1/jobs/${id}/export/tfjs/model.json`): Promise<number[][]> {
  const model = await tfl.loadLayersModel(url, { requestInit: { headers: auth } });
  const x = tfc.tensor2d(rows, undefined, "float32");
  const y = model.predict(x) as tfc.Tensor;
  const out = (await y.array()) as number[][];
  tfc.dispose([x, y]);
  model.dispose();
  return out;
}

/** Operators an export may use: the standard domain's, no custom ones. */
const STANDARD_OPS = new Set(["Sub", "Div", "Gemm", "BatchNormalization", "Relu", "LeakyRelu", "Tanh", "Sigmoid", "Softmax", "Mean"]);

async function viaOnnx(id: string, rows: number[][]): Promise<number[][]> {
  const response = await request(`/v1/jobs/${id}/export/model.onnx`);
  expect(response.status).toBe(200);
  const bytes = new Uint8Array(await response.arrayBuffer());
  const proto = ModelProto.toObject(ModelProto.decode(bytes), { longs: Number, defaults: true }) as { opset_import: { domain: string; version: number }[]; graph: { node: { op_type: string; domain: string }[] } };
  expect(proto.opset_import).toEqual([{ domain: "", version: 17 }]);
  for (const node of proto.graph.node) {
    expect(STANDARD_OPS.has(node.op_type), node.op_type).toBe(true);
    expect(node.domain).toBe("");
  }
  const session = await ort.InferenceSession.create(bytes);
  const n = rows[0].length;
  const feeds = { input: new ort.Tensor("float32", Float32Array.from(rows.flat()), [rows.length, n]) };
  const result = await session.run(feeds);
  const output = result[session.outputNames[0]];
  await session.release();
  const [m, k] = output.dims as number[];
  const data = output.data as Float32Array;
  return Array.from({ length: m }, (_, i) => Array.from(data.subarray(i * k, (i + 1) * k)));
}

/** Largest |a − b| / max(1, |b|) over all outputs. */
function worst(actual: number[][], expected: number[][]): number {
  expect(actual.length).toBe(expected.length);
  let max = 0;
  actual.forEach((row, i) => {
    expect(row.length).toBe(expected[i].length);
    row.forEach((v, j) => (max = Math.max(max, Math.abs(v - expected[i][j]) / Math.max(1, Math.abs(expected[i][j])))));
  });
  return max;
}

beforeAll(async () => {
  await useBackend("wasm");
  ort.env.wasm.numThreads = 1;
  dir = await mkdtemp(join(tmpdir(), "edgeprop-export-"));
  const store = new FileStore(dir);
  const registry = new DatasetRegistry(store);
  jobs = new JobManager({ store, registry, defaultWorkers: ["in-process"], createPool: async () => new InProcessPool({ workers: 2 }) });
  const app = createCoordinatorApp({ jobs, datasets: registry, apiToken: TOKEN });
  server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise<void>((resolve) => server.once("listening", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await jobs?.shutdown();
  if (server) await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

describe("model export", () => {
  const cases: { name: string; spec: () => Promise<object>; rows: number[][] }[] = [
    { name: "every layer type, softmax head, standardized inputs", spec: async () => softmaxJob, rows: inputs(64, 2, -12, 12) },
    { name: "3-member ensemble, sigmoid head, min-max inputs", spec: async () => sigmoidEnsembleJob, rows: inputs(64, 2, -1.5, 2.5) },
    {
      name: "linear head, inputs not normalized",
      spec: async () => {
        const rows = inputs(200, 3, -2, 2).map(([a, b, c]) => `${a},${b},${c},${(a * 0.5 - b * b + Math.sin(3 * c)).toFixed(6)}`);
        const upload = await request("/v1/datasets?label=y&task=regression&name=wave", { method: "POST", body: ["a,b,c,y", ...rows].join("\n"), headers: { "content-type": "text/csv" } });
        expect(upload.status).toBe(201);
        return linearJob(((await upload.json()) as { id: string }).id);
      },
      rows: inputs(64, 3, -3, 3),
    },
  ];
  for (const c of cases) {
    it(`${c.name}: the tfjs LayersModel and the ONNX model give /predict's outputs to 1e-5`, async () => {
      const id = await trained(await c.spec());
      const expected = await predicted(id, c.rows);
      expect(expected.flat().every(Number.isFinite)).toBe(true);
      const tfjs = worst(await viaTfjs(id, c.rows), expected);
      const onnx = worst(await viaOnnx(id, c.rows), expected);
      console.log(`${c.name}: worst relative difference to /predict: tfjs ${tfjs.toExponential(2)}, onnx ${onnx.toExponential(2)}`);
      expect(tfjs).toBeLessThanOrEqual(1e-5);
      expect(onnx).toBeLessThanOrEqual(1e-5);
    });
  }

  it("`edgeprop export --format tfjs|onnx --out PATH` writes the served files; the SDK gives their URLs", async () => {
    const id = await trained(sigmoidEnsembleJob);
    const out = join(dir, "exported");
    const env = { EDGEPROP_API_TOKEN: TOKEN };
    const tfjs = await runCommand(process.execPath, [edgepropBin, "export", id, "--format", "tfjs", "--out", join(out, "tfjs"), "--coordinator", base], { env });
    expect(tfjs.code, tfjs.stderr).toBe(0);
    expect((await readdir(join(out, "tfjs"))).sort()).toEqual(["model.json", "weights.bin"]);
    const onnx = await runCommand(process.execPath, [edgepropBin, "export", id, "--format", "onnx", "--out", join(out, "model.onnx"), "--coordinator", base], { env });
    expect(onnx.code, onnx.stderr).toBe(0);
    for (const [file, path] of [["tfjs/model.json", "export/tfjs/model.json"], ["tfjs/weights.bin", "export/tfjs/weights.bin"], ["model.onnx", "export/model.onnx"]]) {
      const served = new Uint8Array(await (await request(`/v1/jobs/${id}/${path}`)).arrayBuffer());
      expect(new Uint8Array(await readFile(join(out, file))), file).toEqual(served);
    }
    const bad = await runCommand(process.execPath, [edgepropBin, "export", id, "--format", "keras", "--out", out, "--coordinator", base], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/tfjs, onnx/);
    const noToken = await runCommand(process.execPath, [edgepropBin, "export", id, "--format", "onnx", "--out", join(out, "x.onnx"), "--coordinator", base], { env: { EDGEPROP_API_TOKEN: "" } });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toMatch(/API token/);

    const client = new EdgepropClient({ baseUrl: base, token: TOKEN });
    expect(client.exportUrl(id, "tfjs")).toBe(`${base}/v1/jobs/${id}/export/tfjs/model.json`);
    expect(client.exportUrl(id, "onnx")).toBe(`${base}/v1/jobs/${id}/export/model.onnx`);
    const rows = inputs(16, 2, -1, 2);
    expect(worst(await viaTfjs(id, rows, client.exportUrl(id, "tfjs")), await predicted(id, rows))).toBeLessThanOrEqual(1e-5);
  });

  it("the export URLs need the API token, and a job without a model is a 404", async () => {
    const id = await trained(sigmoidEnsembleJob);
    for (const path of ["export/tfjs/model.json", "export/tfjs/weights.bin", "export/model.onnx"]) {
      expect((await fetch(`${base}/v1/jobs/${id}/${path}`)).status, path).toBe(401);
      expect((await fetch(`${base}/v1/jobs/${id}/${path}`, { headers: { authorization: "Bearer wrong" } })).status, path).toBe(401);
      expect((await request(`/v1/jobs/${id}/${path}`)).status, path).toBe(200);
      const missing = await request(`/v1/jobs/job_missing/${path}`);
      expect(missing.status, path).toBe(404);
      expect(((await missing.json()) as { error: { code: string } }).error.code).toBe("not_found");
    }
    await expect(tfl.loadLayersModel(`${base}/v1/jobs/${id}/export/tfjs/model.json`)).rejects.toThrow(/401/);
  });
});
