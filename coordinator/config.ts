/**
 * Coordinator configuration from a plain environment record and command-line arguments, shared by
 * the entry files (Deno and Node read their own environment and pass it here):
 * - `--port P` / `PORT` (default 8080), `--host H` / `HOST` (default 127.0.0.1);
 * - `--data-dir DIR` / `EDGEPROP_DATA_DIR` (default `./.edgeprop`);
 * - `--workers URL,URL` / `EDGEPROP_WORKERS`: the workers of jobs whose spec names none;
 * - `EDGEPROP_WORKER_SECRET`: the HMAC secret shared with the workers;
 * - `EDGEPROP_API_TOKEN`: when set, clients must send `Authorization: Bearer <token>`.
 */
import { parseArgs } from "node:util";

export interface CoordinatorConfig {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  readonly workers: string[];
  readonly workerSecret?: string;
  readonly apiToken?: string;
}

export const DEFAULT_COORDINATOR_PORT = 8080;

export function coordinatorConfig(env: Readonly<Record<string, string | undefined>>, args: readonly string[]): CoordinatorConfig {
  const { values } = parseArgs({
    args: [...args],
    options: { port: { type: "string" }, host: { type: "string" }, "data-dir": { type: "string" }, workers: { type: "string" } },
    strict: true,
  });
  const portText = values.port ?? env.PORT ?? String(DEFAULT_COORDINATOR_PORT);
  const port = Number(portText);
  if (!/^[0-9]+$/.test(portText) || port > 65535) {
    throw new RangeError(`Cannot configure coordinator: '--port' must be an integer in [0, 65535], current value is ${JSON.stringify(portText)}`);
  }
  const workerList = values.workers ?? env.EDGEPROP_WORKERS ?? "";
  const workers = workerList.split(",").map((u) => u.trim()).filter(Boolean).map((u, i) => {
    try {
      const url = new URL(u);
      if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error();
    } catch {
      throw new TypeError(`Cannot configure coordinator: worker ${i + 1} of '--workers' must be an http(s) URL, current value is ${JSON.stringify(u)}`);
    }
    return u.replace(/\/+$/, "");
  });
  return {
    port,
    host: values.host ?? env.HOST ?? "127.0.0.1",
    dataDir: values["data-dir"] ?? env.EDGEPROP_DATA_DIR ?? "./.edgeprop",
    workers,
    workerSecret: env.EDGEPROP_WORKER_SECRET || undefined,
    apiToken: env.EDGEPROP_API_TOKEN || undefined,
  };
}

/** The URL a server listening on `host:port` is reached at. */
export function listenUrl(host: string, port: number): string {
  const h = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  return `http://${h}:${port}`;
}
