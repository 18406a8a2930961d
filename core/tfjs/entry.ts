// Entry of the tfjs bundle that every runtime loads (built by deploy/build/tfjs.mjs).
// The package's main entry registers neither gradients nor chained ops, and the files that do
// cannot be imported by plain Node or Deno (extension-less internal imports), so they are bundled.
import "@tensorflow/tfjs-core/dist/register_all_gradients";
import "@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-backend-wasm";
// Registers `webgpu` only where `navigator.gpu` exists at import time (Deno, browsers); on Node it
// is a no-op, so the same bundle serves every runtime.
import "@tensorflow/tfjs-backend-webgpu";
import "./wasm-slice.ts";
import { findBackendFactory, registerBackend, removeBackend } from "@tensorflow/tfjs-core";

// tfjs-backend-webgpu registers itself with priority 3, above wasm (2): any tfjs call made before
// a backend is chosen would then open a GPU device on Deno. wasm is edgeprop's default, so webgpu
// is re-registered between wasm (2) and cpu (1) and is only used when asked for.
const webgpu = findBackendFactory("webgpu");
if (webgpu) {
  removeBackend("webgpu");
  registerBackend("webgpu", webgpu, 1.5);
}

export * from "@tensorflow/tfjs-core";
export { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
