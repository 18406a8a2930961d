// A `.wasm` import in a Cloudflare Worker is a WebAssembly.Module compiled at upload time
// (wrangler's CompiledWasm rule), not bytes.
declare module "*.wasm" {
  const module: WebAssembly.Module;
  export default module;
}
