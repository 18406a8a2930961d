/**
 * The one place core gets TensorFlow.js from: the bundle built by deploy/build/tfjs.mjs, which
 * registers all gradients, chained ops and the cpu, wasm and (where `navigator.gpu` exists) webgpu
 * backends. Importing the bundle (rather
 * than the `@tensorflow/tfjs-core` package) is what makes Node, Deno and vitest load tfjs the same
 * way. A workerd build substitutes its own bundle for this path (deploy/).
 */
import * as tf from "./tfjs/bundle/tfjs.mjs";

export { tf };

/** Backends edgeprop knows: `wasm` (SIMD) by default, `webgpu` where the runtime has it, `cpu` on request. */
export type BackendName = "wasm" | "webgpu" | "cpu";

tf.env().set("PROD", true);

/**
 * Activates a backend and waits until it is ready. Throws an Error naming the backend and what
 * the runtime offers when it cannot be initialized.
 */
export async function useBackend(name: BackendName = "wasm"): Promise<void> {
  if (tf.getBackend() === name) return;
  let ok = false;
  try {
    ok = await tf.setBackend(name);
  } catch (cause) {
    throw new Error(`Cannot use backend '${name}': ${(cause as Error).message}`, { cause });
  }
  if (!ok) {
    throw new Error(`Cannot use backend '${name}': it failed to initialize on this runtime`);
  }
  await tf.ready();
}

/** Whether the active backend runs WebAssembly SIMD (false for non-wasm backends). */
export function simdEnabled(): boolean {
  return tf.getBackend() === "wasm" && tf.env().getBool("WASM_HAS_SIMD_SUPPORT");
}

/** The subset of WebGPU's `navigator.gpu` this module touches (core compiles without DOM or Deno types). */
interface GpuLike {
  requestAdapter(): Promise<unknown>;
}

let adapterProbe: Promise<boolean> | undefined;

/**
 * Whether `navigator.gpu` yields an adapter. A runtime may expose `navigator.gpu` and still have no
 * adapter (no driver, headless server), and tfjs's webgpu factory then fails late with an opaque
 * error, so availability is probed once up front and the answer cached.
 */
function hasGpuAdapter(): Promise<boolean> {
  adapterProbe ??= (async () => {
    const gpu = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator?.gpu;
    if (!gpu) return false;
    try {
      return (await gpu.requestAdapter()) != null;
    } catch {
      return false;
    }
  })();
  return adapterProbe;
}

/**
 * The backends this runtime can run, in order of preference: `wasm` (registered everywhere),
 * `webgpu` when tfjs registered it (`navigator.gpu` existed at load) and an adapter is available,
 * then `cpu`. Does not change the active backend.
 */
export async function availableBackends(): Promise<BackendName[]> {
  const out: BackendName[] = [];
  if (tf.findBackendFactory("wasm")) out.push("wasm");
  if (tf.findBackendFactory("webgpu") && (await hasGpuAdapter())) out.push("webgpu");
  if (tf.findBackendFactory("cpu")) out.push("cpu");
  return out;
}
