// The engine on WebGPU under Deno (run by `deno task test`). CI installs Debian's software Vulkan
// driver (lavapipe: mesa-vulkan-drivers + libvulkan1), so a missing adapter is a failure, not a skip:
// a silently skipped GPU test would let the webgpu backend rot unnoticed.
import { computeGradients, initParameters, parseModelSpec, planModel, tf, useBackend } from "../../../core/mod.ts";
import type { GradientResult } from "../../../core/model/engine.ts";
import type { NamedArrays } from "../../../core/model/parameters.ts";
import { availableBackends } from "../../../core/tf.ts";
import { randomBatch } from "../../helpers/batches.ts";

// Mesa's window-system probe complains on stderr when XDG_RUNTIME_DIR is unset (headless CI). Only
// the Wayland socket lookup reads it, so any existing directory silences it; set before the first
// requestAdapter().
if (!Deno.env.get("XDG_RUNTIME_DIR")) Deno.env.set("XDG_RUNTIME_DIR", Deno.env.get("TMPDIR") ?? "/tmp");

const plan = planModel(parseModelSpec({
  input: [10],
  layers: [
    { type: "dense", units: 16, init: "he" },
    { type: "batchnorm" },
    { type: "relu" },
    { type: "dropout", keepProb: 0.8 },
    { type: "dense", units: 12 },
    { type: "tanh" },
    { type: "dense", units: 4 },
  ],
  output: "softmax",
}));

async function gradientsOn(backend: "wasm" | "webgpu"): Promise<GradientResult & { gradients: NamedArrays }> {
  await useBackend(backend);
  if (tf.getBackend() !== backend) throw new Error(`active backend is ${tf.getBackend()}, not ${backend}`);
  const before = tf.memory().numTensors;
  // 70 examples at chunk size 16: four full chunks and a partial one, so both engine groups run.
  const result = await computeGradients(plan, initParameters(plan, 3), randomBatch(plan, 70, 8), {
    step: 2,
    seed: 5,
    chunkSize: 16,
  });
  const leaked = tf.memory().numTensors - before;
  if (leaked !== 0) throw new Error(`${backend}: leaked ${leaked} tensors`);
  if (!result.gradients) throw new Error(`${backend}: no gradient sums returned`);
  return { ...result, gradients: result.gradients };
}

/** max |a − b| / max |b| over one tensor: relative to the tensor's scale, so near-zero entries do not dominate. */
function relativeDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0, scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return scale === 0 ? diff : diff / scale;
}

Deno.test("webgpu is available on the software Vulkan adapter", async () => {
  const backends = await availableBackends();
  if (!backends.includes("webgpu")) {
    throw new Error(
      `no WebGPU adapter (backends: ${backends.join(", ")}); install mesa-vulkan-drivers and libvulkan1 (see .ci/run)`,
    );
  }
  if (backends[0] !== "wasm") throw new Error(`wasm must stay the default, got order ${backends.join(", ")}`);
});

Deno.test("gradients on webgpu match wasm to 1e-4 relative", async () => {
  const wasm = await gradientsOn("wasm");
  const gpu = await gradientsOn("webgpu");
  try {
    const report: string[] = [];
    let worst = relativeDiff([gpu.lossSum], [wasm.lossSum]);
    report.push(`lossSum ${worst.toExponential(2)}`);
    for (const name of Object.keys(wasm.gradients)) {
      const d = relativeDiff(gpu.gradients[name], wasm.gradients[name]);
      report.push(`${name} ${d.toExponential(2)}`);
      worst = Math.max(worst, d);
    }
    for (const [name, m] of Object.entries(wasm.batchNorm)) {
      worst = Math.max(worst, relativeDiff(gpu.batchNorm[name].mean, m.mean), relativeDiff(gpu.batchNorm[name].m2, m.m2));
    }
    if (gpu.correct !== wasm.correct) throw new Error(`correct: webgpu ${gpu.correct}, wasm ${wasm.correct}`);
    console.log(`webgpu vs wasm, max relative diff ${worst.toExponential(2)} (${report.join(", ")})`);
    if (!(worst < 1e-4)) throw new Error(`webgpu differs from wasm by ${worst} relative: ${report.join(", ")}`);
  } finally {
    await useBackend("wasm");
  }
});

// Last in this file: Mesa's software Vulkan driver keeps threads that a process exit can race with
// (a rare glibc abort after every test had passed, docs/runtime-notes.md, "WebGPU"); releasing the device
// while the process is alive lets them shut down in order.
Deno.test("releases the WebGPU device: the backend is removed and the device reports it was destroyed", async () => {
  const backend = tf.findBackend("webgpu") as unknown as { device?: GPUDevice } | null;
  if (!backend?.device) throw new Error("the webgpu backend (and its device) should exist after the tests above");
  const device = backend.device;
  tf.removeBackend("webgpu");
  device.destroy();
  // Fail rather than hang if the device never reports its loss.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const info = await Promise.race([
    device.lost,
    new Promise<never>((_, reject) => timer = setTimeout(() => reject(new Error("device.lost did not resolve within 5 s of destroy()")), 5_000)),
  ]).finally(() => clearTimeout(timer));
  if (info.reason !== "destroyed") throw new Error(`device lost for another reason: ${info.reason} (${info.message})`);
});
