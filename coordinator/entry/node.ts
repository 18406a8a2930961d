// The coordinator on Node: `node --import tsx coordinator/entry/node.ts [--port P] [--data-dir DIR] [--workers URL,...]`.
import { serve } from "@hono/node-server";
import { coordinatorConfig, listenUrl } from "../config.ts";
import { createCoordinator } from "../server.ts";

const config = coordinatorConfig(process.env, process.argv.slice(2));
const { app, jobs, resumed } = await createCoordinator(config);
const server = serve({ fetch: app.fetch, port: config.port, hostname: config.host, serverOptions: { noDelay: true } }, (info) =>
  console.log(`edgeprop coordinator (node) listening on ${listenUrl(config.host, info.port)}${resumed ? `; resumed ${resumed} job(s)` : ""}`));
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, async () => {
    await jobs.shutdown(); // running jobs keep their checkpoints and resume on the next start
    server.close();
    process.exit(0);
  });
}
