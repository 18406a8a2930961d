// The coordinator on Node: `node --import tsx coordinator/entry/node.ts [--port P] [--data-dir DIR] [--workers URL,...]`.
import { serve } from "@hono/node-server";
import { coordinatorConfig, listenUrl } from "../config.ts";
import { createCoordinator } from "../server.ts";

const config = coordinatorConfig(process.env, process.argv.slice(2));
const { app, jobs, studies, resumed } = await createCoordinator(config);
const server = serve({ fetch: app.fetch, port: config.port, hostname: config.host, serverOptions: { noDelay: true } }, (info) =>
  console.log(`edgeprop coordinator (node) listening on ${listenUrl(config.host, info.port)}${resumed ? `; resumed ${resumed} job(s)` : ""}`));
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, async () => {
    await studies.shutdown(); // studies and running jobs keep their state and resume on the next start
    await jobs.shutdown();
    server.close();
    process.exit(0);
  });
}
