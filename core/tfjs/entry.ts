// Entry of the tfjs bundle that every runtime loads (built by deploy/build/tfjs.mjs).
// The package's main entry registers neither gradients nor chained ops, and the files that do
// cannot be imported by plain Node or Deno (extension-less internal imports), so they are bundled.
import "@tensorflow/tfjs-core/dist/register_all_gradients";
import "@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-backend-wasm";

export * from "@tensorflow/tfjs-core";
export { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
