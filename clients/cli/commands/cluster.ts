/** `edgeprop cluster up`: the local multi-process cluster in the foreground. */
import { Command, Option } from "commander";
import { type Cluster, startLocalCluster, type WorkerRuntime } from "../../../deploy/local-cluster.ts";
import { UsageError } from "../usage-error.ts";

/** Stops the cluster on SIGINT/SIGTERM, then exits (130 for Ctrl-C). Returns a function that removes the handlers. */
export function stopOnSignals(cluster: Cluster, onStop: () => void = () => {}): () => void {
  const handler = (signal: NodeJS.Signals) => {
    onStop();
    void cluster.stop().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  };
  process.once("SIGINT", handler);
  process.once("SIGTERM", handler);
  return () => {
    process.off("SIGINT", handler);
    process.off("SIGTERM", handler);
  };
}

export function parseCount(value: string, flag: string, max: number): number {
  const n = Number(value);
  if (!/^[0-9]+$/.test(value) || n < 1 || n > max) throw new UsageError(`${flag} must be an integer in [1, ${max}], current value is ${JSON.stringify(value)}`);
  return n;
}

export function clusterCommand(): Command {
  const cluster = new Command("cluster").description("The local multi-process cluster.");
  cluster
    .command("up")
    .description("Start edge workers and a coordinator on loopback with a generated secret; Ctrl-C stops them all.")
    .option("--workers <n>", "number of edge workers", "2")
    .addOption(new Option("--runtime <name>", "runtime of the workers").choices(["deno", "node", "workerd"]).default("deno"))
    .option("--port <port>", "coordinator port (0: any free port)", "8080")
    .option("--data-dir <dir>", "job store directory", "./.edgeprop")
    .action(async (options: { workers: string; runtime: WorkerRuntime; port: string; dataDir: string }) => {
      const workers = parseCount(options.workers, "--workers", 64);
      const port = Number(options.port);
      if (!/^[0-9]+$/.test(options.port) || port > 65535) throw new UsageError(`--port must be an integer in [0, 65535], current value is ${JSON.stringify(options.port)}`);
      const c = await startLocalCluster({ workers, runtime: options.runtime, port, dataDir: options.dataDir });
      stopOnSignals(c, () => console.log("stopping the cluster..."));
      console.log(`coordinator: ${c.coordinatorUrl}`);
      c.workerUrls.forEach((url, i) => console.log(`worker ${i + 1} (${options.runtime}): ${url}`));
      console.log(`dashboard: ${c.coordinatorUrl}/`);
      console.log(`data directory: ${c.dataDir}`);
      console.log(`try: npx edgeprop train docs/examples/mnist-mlp.json --coordinator ${c.coordinatorUrl} --watch   (Ctrl-C stops the cluster)`);
      // Stay in the foreground until a signal or until a process dies.
      await Promise.race(c.processes.map((p) => new Promise((resolve) => p.child.once("exit", resolve))));
      console.error("edgeprop: a cluster process exited; stopping the others");
      await c.stop();
      process.exitCode = 1;
    });
  return cluster;
}
