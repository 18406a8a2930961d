/**
 * The one place core gets TensorFlow.js from: the bundle built by deploy/build/tfjs.mjs, which
 * registers all gradients, chained ops and the cpu and wasm backends. Importing the bundle (rather
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
