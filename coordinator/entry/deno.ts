// The coordinator on Deno: `deno run -A coordinator/entry/deno.ts [--port P] [--data-dir DIR] [--workers URL,...]`.
import { coordinatorConfig, listenUrl } from "../config.ts";
import { createCoordinator } from "../server.ts";

const config = coordinatorConfig(Deno.env.toObject(), Deno.args);
const { app, jobs, studies, resumed } = await createCoordinator(config);
const server = Deno.serve({
  port: config.port,
  hostname: config.host,
  onListen: ({ port }) => console.log(`edgeprop coordinator (deno) listening on ${listenUrl(config.host, port)}${resumed ? `; resumed ${resumed} job(s)` : ""}`),
}, app.fetch);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, async () => {
    await studies.shutdown(); // studies and running jobs keep their state and resume on the next start
    await jobs.shutdown();
    await server.shutdown();
    Deno.exit(0);
  });
}
