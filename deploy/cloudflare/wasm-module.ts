/**
 * Hands tfjs-backend-wasm a WebAssembly module compiled by the platform. workerd refuses to compile
 * wasm from bytes ("Wasm code generation disallowed by embedder") and tfjs has no option to take a
 * precompiled module (tensorflow/tfjs#8157), so build.mjs patches the backend's `init()` to pass
 * emscripten this `instantiateWasm` hook. The `.wasm` import is kept external by the build and
 * becomes a CompiledWasm module next to the bundle (wrangler.toml `[[rules]]`, miniflare `modules`).
 */
import simdModule from "./tfjs-backend-wasm-simd.wasm";

type Callback = (instance: WebAssembly.Instance, module: WebAssembly.Module) => void;

/**
 * Returns emscripten's `instantiateWasm(imports, callback)` hook. `reject` is the rejection of
 * tfjs's backend-initialization promise, so a failure surfaces as a failed `setBackend('wasm')`
 * instead of a hang.
 */
export function instantiateWasm(
  simdSupported: boolean,
  reject: (reason: unknown) => void,
): (imports: WebAssembly.Imports, callback: Callback) => object {
  return (imports, callback) => {
    if (!simdSupported) {
      reject(new Error("edgeprop's workerd build ships only the SIMD wasm binary, and this runtime lacks WebAssembly SIMD"));
      return {};
    }
    WebAssembly.instantiate(simdModule, imports).then(
      (instance) => callback(instance, simdModule),
      (error: unknown) => reject(error),
    );
    // emscripten's contract: return the exports now, or {} and deliver them through the callback.
    return {};
  };
}
