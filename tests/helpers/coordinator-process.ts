/** A real coordinator process (Deno by default) on a free loopback port, for e2e tests. */
import { COORDINATOR_DENO_PERMISSIONS } from "../../deploy/local-cluster.ts";
import { denoBin } from "./processes.ts";
import { type ServerProcess, startServer } from "./server-process.ts";

export interface CoordinatorStart {
  readonly dataDir: string;
  readonly workers?: readonly string[];
  readonly secret?: string;
  readonly apiToken?: string;
  readonly runtime?: "deno" | "node";
}

export function startCoordinator(options: CoordinatorStart): Promise<ServerProcess> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.EDGEPROP_WORKER_SECRET;
  delete env.EDGEPROP_API_TOKEN;
  delete env.EDGEPROP_WORKERS;
  if (options.secret) env.EDGEPROP_WORKER_SECRET = options.secret;
  if (options.apiToken) env.EDGEPROP_API_TOKEN = options.apiToken;
  const args = ["--port", "0", "--data-dir", options.dataDir, ...(options.workers?.length ? ["--workers", options.workers.join(",")] : [])];
  const runtime = options.runtime ?? "deno";
  const command = runtime === "deno"
    ? { file: denoBin, args: ["run", ...COORDINATOR_DENO_PERMISSIONS, "coordinator/entry/deno.ts", ...args] }
    : { file: process.execPath, args: ["--import", "tsx", "coordinator/entry/node.ts", ...args] };
  return startServer(`the ${runtime} coordinator`, {
    ...command,
    env,
    healthPath: "/v1/workers",
    headers: options.apiToken ? { authorization: `Bearer ${options.apiToken}` } : undefined,
  });
}
