// The coordinator on Node: `node --import tsx coordinator/entry/node.ts [--port P] [--data-dir DIR] [--workers URL,...]`.
import { serve } from "@hono/node-server";
import { coordinatorConfig, listenUrl } from "../config.ts";
import { createCoordinator, DataDirLockedError } from "../server.ts";

// A server keeps serving its other jobs: a rejection nothing handled is a defect to log, not a reason to die.
process.on("unhandledRejection", (reason) => console.error("coordinator: unhandled rejection (a defect; the coordinator goes on):", reason));

const config = coordinatorConfig(process.env, process.argv.slice(2));
const coordinator = await createCoordinator(config).catch((error) => {
  if (!(error instanceof DataDirLockedError)) throw error;
  console.error(`edgeprop coordinator: ${error.message}`);
  process.exit(1);
});
const { app, resumed } = coordinator;
const server = serve({ fetch: app.fetch, port: config.port, hostname: config.host, serverOptions: { noDelay: true } }, (info) =>
  console.log(`edgeprop coordinator (node) listening on ${listenUrl(config.host, info.port)}${resumed ? `; resumed ${resumed} job(s)` : ""}`));
server.once("error", async (error: NodeJS.ErrnoException) => {
  if (error.code !== "EADDRINUSE") throw error;
  console.error(`edgeprop coordinator: cannot listen on ${listenUrl(config.host, config.port)}: the port is in use (another coordinator? choose another with --port, or --port 0 for any free port)`);
  await coordinator.close();
  process.exit(1);
});
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, async () => {
    await coordinator.close();
    server.close();
    process.exit(0);
  });
}
