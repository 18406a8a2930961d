// Types of serve.mjs (plain JavaScript so that `node deploy/cloudflare/serve.mjs` runs without a loader).
export interface WorkerdOptions {
  /** Port to listen on; 0 picks a free one (default 8787). */
  readonly port?: number;
  /** Interface to listen on (default 127.0.0.1). */
  readonly host?: string;
  /** EDGEPROP_WORKER_SECRET, passed to the worker as a binding. */
  readonly secret?: string;
  /** EDGEPROP_INSECURE=1: accept unsigned requests (local development only). */
  readonly insecure?: boolean;
  /** More bindings, e.g. `EDGEPROP_MAX_BODY_BYTES` (edge-functions/worker-config.ts). */
  readonly vars?: Readonly<Record<string, string>>;
  /** false: serve the existing deploy/cloudflare/dist without rebuilding it. */
  readonly build?: boolean;
}

export interface RunningWorkerd {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:8787`. */
  readonly url: string;
  readonly port: number;
  /** Stops workerd and releases the port. */
  stop(): Promise<void>;
}

export function startWorkerd(options?: WorkerdOptions): Promise<RunningWorkerd>;
