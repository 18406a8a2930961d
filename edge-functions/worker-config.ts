/**
 * Worker configuration from a plain environment record and command-line arguments, shared by the
 * entry files (which read `Deno.env`, `process.env` or workerd bindings and pass them here), so
 * every runtime understands the same variables:
 *
 * - `EDGEPROP_WORKER_SECRET`: the HMAC secret shared with the coordinator;
 * - `EDGEPROP_INSECURE=1`: accept unsigned requests when no secret is set (local development only);
 * - `EDGEPROP_BACKEND`: default backend (`wasm`, `webgpu`, `cpu`; default `wasm`);
 * - `EDGEPROP_MAX_BODY_BYTES`, `EDGEPROP_MAX_EXAMPLES`, ... : one per limit of DEFAULT_WORKER_LIMITS,
 *   the limit's name in upper snake case;
 * - `PORT`, `HOST` (or `--port P`, `--host H`, which win): where a server entry listens
 *   (default 8787 on 127.0.0.1).
 */
import { DEFAULT_WORKER_LIMITS, type WorkerLimits } from "../core/limits.ts";
import type { BackendName } from "../core/tf.ts";
import { BACKEND_NAMES } from "../core/wire/messages.ts";
import type { WorkerOptions } from "./app.ts";

export type Env = Readonly<Record<string, string | undefined>>;

export const DEFAULT_PORT = 8787;
export const DEFAULT_HOST = "127.0.0.1";

/** `maxBodyBytes` → `EDGEPROP_MAX_BODY_BYTES`. */
export function limitVariable(name: string): string {
  return `EDGEPROP_${name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

function flag(env: Env, name: string): boolean {
  const value = env[name];
  if (value === undefined || value === "" || value === "0" || value === "false") return false;
  if (value === "1" || value === "true") return true;
  throw new RangeError(`Cannot configure worker: '${name}' must be 1 or 0, current value is ${JSON.stringify(value)}`);
}

/** WorkerOptions (less `runtime`) from environment variables. Throws naming a malformed variable. */
export function workerOptionsFromEnv(env: Env): Omit<WorkerOptions, "runtime"> {
  const limits: Partial<Record<keyof WorkerLimits, number>> = {};
  for (const name of Object.keys(DEFAULT_WORKER_LIMITS) as (keyof WorkerLimits)[]) {
    const variable = limitVariable(name);
    const raw = env[variable];
    if (raw === undefined || raw === "") continue;
    const value = Number(raw);
    if (!/^[0-9]+$/.test(raw) || !Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`Cannot configure worker: '${variable}' must be a positive integer, current value is ${JSON.stringify(raw)}`);
    }
    limits[name] = value;
  }
  const backend = env.EDGEPROP_BACKEND || undefined;
  if (backend !== undefined && !(BACKEND_NAMES as readonly string[]).includes(backend)) {
    throw new RangeError(`Cannot configure worker: 'EDGEPROP_BACKEND' must be one of ${BACKEND_NAMES.join(", ")}, current value is ${JSON.stringify(backend)}`);
  }
  return {
    secret: env.EDGEPROP_WORKER_SECRET || undefined,
    insecure: flag(env, "EDGEPROP_INSECURE"),
    limits,
    ...(backend ? { backend: backend as BackendName } : {}),
  };
}

export interface ServeConfig {
  readonly port: number;
  readonly host: string;
  readonly worker: Omit<WorkerOptions, "runtime">;
}

/** `--name value` or `--name=value` from `args`, else undefined. */
function argument(args: readonly string[], name: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === `--${name}`) {
      const value = args[i + 1];
      if (value === undefined || value.startsWith("--")) throw new RangeError(`Cannot configure worker: '--${name}' needs a value`);
      return value;
    }
    if (args[i].startsWith(`--${name}=`)) return args[i].slice(name.length + 3);
  }
  return undefined;
}

/** Where and how a server entry runs, from the environment and its arguments. */
export function serveConfig(env: Env, args: readonly string[]): ServeConfig {
  const rawPort = argument(args, "port") ?? env.PORT ?? String(DEFAULT_PORT);
  const port = Number(rawPort);
  if (!/^[0-9]{1,5}$/.test(rawPort) || port > 65535) {
    throw new RangeError(`Cannot configure worker: the port must be an integer in [0, 65535] (0: any free port), current value is ${JSON.stringify(rawPort)}`);
  }
  const host = argument(args, "host") ?? env.HOST ?? DEFAULT_HOST;
  return { port, host, worker: workerOptionsFromEnv(env) };
}

/** The URL a server listening on `host:port` is reached at (IPv6 in brackets). */
export function listenUrl(host: string, port: number): string {
  return `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
}
