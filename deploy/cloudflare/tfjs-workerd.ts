/**
 * The workerd flavour of core/tfjs/bundle/tfjs.mjs: deploy/cloudflare/build.mjs substitutes this
 * module for that path when it bundles the worker. Same exports (tfjs-core, all gradients and
 * chained ops, the cpu and wasm backends), minus what cannot work in workerd: no webgpu backend (no
 * `navigator.gpu` there), no `node:module` banner (no `require` without nodejs_compat), and the wasm
 * backend is instantiated from a module compiled at upload time (see wasm-module.ts), because
 * workerd forbids compiling WebAssembly from bytes at run time.
 */
import "@tensorflow/tfjs-core/dist/register_all_gradients";
import "@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-backend-wasm";
import "../../core/tfjs/wasm-slice.ts";
import { env } from "@tensorflow/tfjs-core";

// workerd has no Web Workers to run wasm threads on; tfjs would otherwise pick the threaded build
// where SharedArrayBuffer exists, and only the SIMD build is uploaded with the worker.
env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);

export * from "@tensorflow/tfjs-core";
export { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
