// POST /v1/rounds on the worker app in process (app.request): signed like the other endpoints,
// answered with the bits of core's computeRoundShard, a round cut into two requests equal to one,
// the compute budget advertised in /v1/health, and a 400 naming the field for each bad request.
import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../edge-functions/app.ts";
import { initBatchNormState, initParameters } from "../../core/model/parameters.ts";
import { parseModelSpec, planModel } from "../../core/model/spec.ts";
import { computeRoundShard } from "../../core/round.ts";
import { useBackend } from "../../core/tf.ts";
import { decodeRoundResponse, parseHealth, PROTOCOL, type RoundRequestInput, type RoundResponse } from "../../core/wire/messages.ts";
import { wireFloat32, wireFloat64, wireInt32, wireTensors } from "../../core/wire/tensor.ts";
import { randomBatch } from "../helpers/batches.ts";
import { postMessage } from "../helpers/worker-client.ts";

const SECRET = "rounds-test-secret-0123456789";
const BASE = "http://worker.test";
const spec = {
  input: [6],
  layers: [{ type: "dense", units: 8 }, { type: "batchnorm" }, { type: "relu" }, { type: "dropout", keepProb: 0.8 }, { type: "dense", units: 3 }],
  output: "softmax",
};
const plan = planModel(parseModelSpec(spec));
const STEPS = [7, 7, 5, 7];
const M = STEPS.reduce((a, b) => a + b, 0);
const batch = randomBatch(plan, M, 4, 500);

/** A round of 4 inner steps of Adam from fresh state, rows [first, first + Σ steps) of `batch`. */
function round(over: Partial<Record<keyof RoundRequestInput, unknown>> = {}, steps = STEPS, first = 0, step = 10): RoundRequestInput {
  const rows = steps.reduce((a, b) => a + b, 0);
  const n = plan.inputSize;
  return {
    protocol: PROTOCOL,
    model: spec,
    parameters: wireTensors(plan.parameters, initParameters(plan, 3)),
    batchNorm: wireTensors(plan.batchNormState, initBatchNormState(plan)),
    optimizer: { type: "adam", learningRate: 0.01 },
    regularization: { l2: 0.01 },
    inputs: wireFloat32(batch.inputs.slice(first * n, (first + rows) * n), [rows, n]),
    labels: wireInt32((batch.labels as Int32Array).slice(first, first + rows), [rows]),
    indices: wireInt32(Int32Array.from(batch.indices).slice(first, first + rows), [rows]),
    stepExamples: wireInt32(Int32Array.from(steps), [steps.length]),
    learningRates: wireFloat64(Float64Array.from(steps, (_, h) => 0.01 / (1 + 0.1 * (step + h))), [steps.length]),
    penaltyExamples: wireInt32(Int32Array.from(steps, (m) => m * 2), [steps.length]),
    step,
    seed: 9,
    chunkSize: 4,
    deterministic: true,
    ...over,
  } as RoundRequestInput;
}

const app = createApp({ runtime: "test", secret: SECRET, limits: { maxExamples: 16, maxRoundExamples: 40 } });
const send = (r: Request) => app.request(r);

async function post(message: unknown): Promise<Response> {
  return await postMessage(send, BASE, "/v1/rounds", message, { secret: SECRET });
}

async function reply(message: unknown): Promise<RoundResponse> {
  const response = await post(message);
  expect(response.status, await response.clone().text()).toBe(200);
  return decodeRoundResponse(new Uint8Array(await response.arrayBuffer()));
}

beforeAll(async () => {
  await useBackend("wasm");
});

describe("POST /v1/rounds", () => {
  it("answers with the bits of core's computeRoundShard: parameters, statistics, inner state and per-step stats", async () => {
    const got = await reply(round());
    const expected = await computeRoundShard(round());
    expect(got.parameters).toEqual(expected.parameters);
    expect(got.batchNorm).toEqual(expected.batchNorm);
    expect(got.innerState).toEqual(expected.innerState);
    expect(got.innerState?.step).toBe(4);
    expect(Object.keys(got.innerState?.moments ?? {}).sort()).toEqual(["s", "v"]);
    expect(Array.from(got.steps.count.data)).toEqual(STEPS);
    expect(Array.from(got.steps.skipped.data)).toEqual([0, 0, 0, 0]);
    expect(got.steps.loss.data.every((l) => l > 0)).toBe(true);
    // The parameters moved.
    expect(got.parameters["dense0.W"].data).not.toEqual(round().parameters["dense0.W"].data);
  });

  it("gives the same bits for a round cut into two requests, the first one's state handed on", async () => {
    const whole = await reply(round());
    const first = await reply(round({}, STEPS.slice(0, 2), 0, 10));
    const second = await reply(round({ parameters: first.parameters, batchNorm: first.batchNorm, innerState: first.innerState }, STEPS.slice(2), 14, 12));
    expect(second.parameters).toEqual(whole.parameters);
    expect(second.batchNorm).toEqual(whole.batchNorm);
    expect(second.innerState).toEqual(whole.innerState);
  });

  it("leaves the inner state out of a reply asked for returnInnerState: false, with the same bits otherwise and a smaller body", async () => {
    const whole = await post(round());
    const lean = await post(round({ returnInnerState: false }));
    expect(lean.status).toBe(200);
    const wholeBytes = new Uint8Array(await whole.arrayBuffer()), leanBytes = new Uint8Array(await lean.arrayBuffer());
    const full = decodeRoundResponse(wholeBytes), without = decodeRoundResponse(leanBytes);
    expect(without.innerState).toBeUndefined();
    expect(without.parameters).toEqual(full.parameters);
    expect(without.batchNorm).toEqual(full.batchNorm);
    expect(without.steps).toEqual(full.steps);
    // Two moments of the model's parameters, 4 bytes each, are what is left out.
    expect(wholeBytes.length - leanBytes.length).toBeGreaterThanOrEqual(2 * 4 * plan.parameterCount);
    expect((await reply(round({ returnInnerState: true }))).innerState).toEqual(full.innerState);
    const health = parseHealth(await (await app.request(`${BASE}/v1/health`)).json());
    expect(health.returnInnerState).toBe(true);
  });

  it("is refused unsigned (401), and /v1/health advertises maxRoundExamples", async () => {
    const unsigned = await postMessage(send, BASE, "/v1/rounds", round());
    expect(unsigned.status).toBe(401);
    const health = parseHealth(await (await app.request(`${BASE}/v1/health`)).json());
    expect(health.limits.maxRoundExamples).toBe(40);
    expect((await app.request(`${BASE}/v1/rounds`)).status).toBe(405);
  });

  const n = plan.inputSize;
  const cases: [string, Record<string, unknown>, string, RegExp][] = [
    ["no stepExamples", { stepExamples: undefined }, "stepExamples", /required/],
    ["steps that do not sum to the examples", { stepExamples: wireInt32(Int32Array.from([7, 7, 5, 6]), [4]) }, "stepExamples", /sums to 25, but the request has 26/],
    ["an empty step", { stepExamples: wireInt32(Int32Array.from([7, 7, 12, 0]), [4]) }, "stepExamples.data", /element 3 is 0/],
    ["a step over maxExamples", { stepExamples: wireInt32(Int32Array.from([7, 17, 1, 1]), [4]) }, "stepExamples.data", /17 examples, more than the worker's limit of 16/],
    ["learning rates of the wrong length", { learningRates: wireFloat64(new Float64Array(3), [3]) }, "learningRates.shape", /must be \[4\]/],
    ["a negative learning rate", { learningRates: wireFloat64(Float64Array.from([0.1, -1, 0.1, 0.1]), [4]) }, "learningRates.data", /element 1 is -1/],
    ["penaltyExamples of the wrong length", { penaltyExamples: wireInt32(new Int32Array(2), [2]) }, "penaltyExamples.shape", /must be \[4\]/],
    ["an unknown optimizer", { optimizer: { type: "lamb", learningRate: 1 } }, "optimizer.type", /lamb/],
    ["an optimizer option out of range", { optimizer: { type: "adam", learningRate: 1, beta1: 2 } }, "optimizer.beta1", /beta1/],
    ["inner moments of another optimizer", { innerState: { step: 1, moments: { v: wireTensors(plan.parameters, initParameters(plan, 1)) } } }, "innerState.moments", /must hold 's', 'v'/],
    ["an inner moment of the wrong shape", {
      innerState: { step: 1, moments: { v: wireTensors(plan.parameters, initParameters(plan, 1)), s: { ...wireTensors(plan.parameters, initParameters(plan, 1)), "dense0.W": wireFloat32(new Float32Array(3), [3]) } } },
    }, "innerState.moments.s.dense0.W.shape", /must be \[6, 8\]/],
    ["no batch-norm state", { batchNorm: undefined }, "batchNorm", /required/],
    ["an unknown field", { gradients: {} }, "gradients", /not a known field/],
    ["a returnInnerState that is not a boolean", { returnInnerState: "no" }, "returnInnerState", /must be boolean/],
    ["a model the worker cannot build", { model: { ...spec, layers: [{ type: "dense", units: 0 }] } }, "model.layers[0].units", /units/],
    ["more examples than maxRoundExamples", {
      inputs: wireFloat32(new Float32Array(41 * n), [41, n]), labels: wireInt32(new Int32Array(41), [41]), indices: wireInt32(new Int32Array(41), [41]),
      stepExamples: wireInt32(Int32Array.from([11, 10, 10, 10]), [4]),
    }, "inputs.shape", /41 examples, more than the worker's limit of 40/],
  ];
  for (const [what, over, field, message] of cases) {
    it(`is a 400 naming '${field}' for ${what}`, async () => {
      const request = round(over) as Record<string, unknown>;
      for (const key of Object.keys(over)) if ((over as Record<string, unknown>)[key] === undefined) delete request[key];
      const response = await post(request);
      expect(response.status).toBe(400);
      const { error } = (await response.json()) as { error: { field: string; message: string } };
      expect(error.field).toBe(field);
      expect(error.message).toMatch(message);
    });
  }
});
