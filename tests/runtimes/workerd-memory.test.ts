// A workerd worker at its advertised limits (edge-functions/worker-limits.ts WORKERD_LIMITS) answers
// the largest gradient request those limits allow while the memory its isolate adds stays under
// Cloudflare's 128 MB. Real processes: the worker runs in workerd through deploy/cloudflare/serve.mjs
// (miniflare, offline), started by the same helper as the conformance suite.
//
// How memory is measured: the isolate's heap cannot be read from outside workerd, so the test takes
// the VmHWM (resident high-water mark, /proc/<pid>/status) of the worker's workerd process, less the
// VmHWM of a workerd process that miniflare starts for a one-line worker (workerd's own code and
// miniflare's services). What is left counts everything the edgeprop isolate added, including the
// bytes workerd buffers for its requests and replies: an upper bound on the isolate.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { planShards } from "../../coordinator/training/shard-plan.ts";
import { initParameters } from "../../core/model/parameters.ts";
import { parseModelSpec, planModel } from "../../core/model/spec.ts";
import { encode } from "../../core/wire/codec.ts";
import { decodeGradientsResponse, parseHealth } from "../../core/wire/messages.ts";
import { resolveLimits, WORKERD_LIMITS } from "../../edge-functions/worker-limits.ts";
import { randomBatch } from "../helpers/batches.ts";
import { gradientsRequest } from "../helpers/wire-fixtures.ts";
import { signedRequest } from "../helpers/worker-client.ts";
import { startWorker, type WorkerProcess } from "../helpers/worker-process.ts";
import { trivialWorkerdHwm, vmField, workerdPid } from "./process-memory.ts";

const SECRET = "workerd-memory-secret-0123456789";
const ISOLATE_BYTES = 128 * 1000 * 1000;
const MiB = 1024 * 1024;

let baseline = 0;
let worker: WorkerProcess;
beforeAll(async () => {
  baseline = await trivialWorkerdHwm();
  worker = await startWorker("workerd", { secret: SECRET, timeoutMs: 60_000 });
}, 120_000);
afterAll(async () => {
  await worker?.stop();
}, 30_000);

describe("workerd worker memory at its advertised limits", () => {
  it("answers the largest request its limits allow, its isolate under 128 MB", async () => {
    const health = parseHealth(await (await fetch(`${worker.url}/v1/health`)).json());
    expect(health.limits).toEqual(resolveLimits(WORKERD_LIMITS));
    const limits = health.limits;
    // The widest 784-h-10 MLP under maxParameters, the most examples under maxActivations, cut
    // into as many chunks as maxChunkGradients allows: every memory limit reached at once.
    const hidden = Math.floor((limits.maxParameters - 10) / (784 + 1 + 10));
    const spec = { input: [784], layers: [{ type: "dense", units: hidden }, { type: "relu" }, { type: "dense", units: 10 }], output: "softmax" };
    const plan = planModel(parseModelSpec(spec));
    const perExample = plan.inputSize + plan.widths.reduce((a, b) => a + b, 0);
    const chunks = Math.floor(limits.maxChunkGradients / plan.parameterCount);
    const chunkSize = Math.floor(limits.maxActivations / perExample / chunks);
    const examples = chunks * chunkSize;
    // The coordinator's planner sends all of them in one shard to one worker.
    const [shard, ...more] = planShards(examples, chunkSize, { workers: 1, limits }, plan);
    expect(more).toEqual([]);
    expect(shard.rowEnd - shard.rowStart).toBe(examples);
    expect(plan.parameterCount).toBeGreaterThan(0.99 * limits.maxParameters);
    expect(examples * perExample).toBeGreaterThan(0.99 * limits.maxActivations);
    expect(shard.chunks * plan.parameterCount).toBeGreaterThan(0.95 * limits.maxChunkGradients);

    const message = gradientsRequest(plan, spec, initParameters(plan, 1), randomBatch(plan, examples, 2), {
      chunkSize, step: 0, seed: 3, firstChunk: 0, totalChunks: shard.chunks,
    });
    const body = encode(message).slice();
    expect(body.length).toBeLessThanOrEqual(limits.maxBodyBytes);
    const pid = workerdPid(worker.child.pid!);
    // Twice: the second runs on the first one's high-water mark (the wasm heap never shrinks).
    for (let i = 0; i < 2; i++) {
      const response = await fetch(await signedRequest(worker.url, "/v1/gradients", body, { secret: SECRET }));
      const bytes = new Uint8Array(await response.arrayBuffer());
      expect(response.status, new TextDecoder().decode(bytes.subarray(0, 300))).toBe(200);
      expect(decodeGradientsResponse(bytes).count).toBe(examples);
    }
    const peak = vmField(pid, "VmHWM");
    console.info(`[workerd memory] P=${plan.parameterCount} A=${examples * perExample} G=${shard.chunks * plan.parameterCount} body=${(body.length / MiB).toFixed(1)} MiB: workerd VmHWM ${(peak / MiB).toFixed(1)} MiB, one-line worker ${(baseline / MiB).toFixed(1)} MiB, isolate ≤ ${((peak - baseline) / MiB).toFixed(1)} MiB`);
    expect(peak - baseline).toBeLessThan(ISOLATE_BYTES);
  }, 120_000);
});
