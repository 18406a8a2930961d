// The coordinator on Deno: `deno run -A coordinator/entry/deno.ts [--port P] [--data-dir DIR] [--workers URL,...]`.
import { coordinatorConfig, listenUrl } from "../config.ts";
import { createCoordinator, DataDirLockedError } from "../server.ts";

// A server keeps serving its other jobs: a rejection nothing handled is a defect to log, not a reason to die.
globalThis.addEventListener("unhandledrejection", (event) => {
  event.preventDefault();
  console.error("coordinator: unhandled rejection (a defect; the coordinator goes on):", event.reason);
});

const config = coordinatorConfig(Deno.env.toObject(), Deno.args);
const coordinator = await createCoordinator(config).catch((error) => {
  if (!(error instanceof DataDirLockedError)) throw error;
  console.error(`edgeprop coordinator: ${error.message}`);
  Deno.exit(1);
});
const { app, resumed } = coordinator;
let server: Deno.HttpServer;
try {
  server = Deno.serve({
    port: config.port,
    hostname: config.host,
    onListen: ({ port }) => console.log(`edgeprop coordinator (deno) listening on ${listenUrl(config.host, port)}${resumed ? `; resumed ${resumed} job(s)` : ""}`),
  }, app.fetch);
} catch (error) {
  // Without this the rejection is only logged (above) and the process lingers without listening.
  if (!(error instanceof Deno.errors.AddrInUse)) throw error;
  console.error(`edgeprop coordinator: cannot listen on ${listenUrl(config.host, config.port)}: the port is in use (another coordinator? choose another with --port, or --port 0 for any free port)`);
  await coordinator.close();
  Deno.exit(1);
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, async () => {
    await coordinator.close();
    await server.shutdown();
    Deno.exit(0);
  });
}
