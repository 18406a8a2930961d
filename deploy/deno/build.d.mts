// Types of build.mjs (plain JavaScript so that `node deploy/deno/build.mjs` runs without a loader).
export const defaultOutDir: string;

export interface BuiltDenoWorker {
  /** The directory to upload with `deno deploy --prod <dir>`. */
  readonly outDir: string;
  /** Its files, name → bytes. */
  readonly files: Record<string, number>;
}

export function buildDenoWorker(options?: { readonly outDir?: string; readonly org?: string; readonly app?: string }): Promise<BuiltDenoWorker>;
