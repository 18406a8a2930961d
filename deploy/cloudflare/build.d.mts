// Types of build.mjs (plain JavaScript so that `node deploy/cloudflare/build.mjs` runs without a loader).
export const distDir: string;
export const wasmName: string;

export interface BuiltWorker {
  readonly outDir: string;
  /** The bundled worker module (worker.mjs). */
  readonly script: string;
  /** The wasm binary beside it, imported by the worker as a compiled module. */
  readonly wasm: string;
  readonly bytes: number;
}

export function buildWorker(options?: { readonly entry?: string; readonly outDir?: string }): Promise<BuiltWorker>;
