/** `edgeprop cluster up`: the local multi-process cluster in the foreground. */
import { constants } from "node:os";
import { Command, Option } from "commander";
import { type Cluster, type ClusterOptions, startLocalCluster, type WorkerRuntime } from "../../../deploy/local-cluster.ts";
import { UsageError } from "../usage-error.ts";

const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/** A cluster started under {@link startWithSignals}. */
export interface SignalledCluster {
  /** The cluster, or null when a signal came during start-up (what had started is stopped). */
  readonly cluster: Cluster | null;
  /** Whether a signal has asked the CLI to stop (the handler then exits the process). */
  signalled(): boolean;
  /** Gives the signals back their default handling. */
  removeHandlers(): void;
}

/**
 * Starts a local cluster with SIGINT, SIGTERM and SIGHUP handled from before its first process: a
 * signal during start-up stops what had started; one later stops the cluster (the coordinator
 * first, so its running jobs stay resumable) and exits with 128 + the signal's number (130 for
 * Ctrl-C). The children run in process groups of their own, so these handlers are what stops
 * them; further signals while stopping are ignored rather than leaving children behind.
 */
export async function startWithSignals(options: ClusterOptions, onStop: () => void): Promise<SignalledCluster> {
  const controller = new AbortController();
  let cluster: Cluster | null = null;
  const handler = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) return;
    controller.abort();
    onStop();
    const code = 128 + constants.signals[signal];
    if (cluster) void cluster.stop().finally(() => process.exit(code));
    else process.exitCode = code;
  };
  const removeHandlers = () => STOP_SIGNALS.forEach((s) => process.off(s, handler));
  STOP_SIGNALS.forEach((s) => process.on(s, handler));
  const signalled = () => controller.signal.aborted;
  try {
    cluster = await startLocalCluster({ ...options, signal: controller.signal });
  } catch (error) {
    if (signalled()) return { cluster: null, signalled, removeHandlers };
    removeHandlers();
    throw error;
  }
  return { cluster, signalled, removeHandlers };
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
      const { cluster: c, signalled } = await startWithSignals({ workers, runtime: options.runtime, port, dataDir: options.dataDir }, () => console.log("stopping the cluster..."));
      if (!c) return;
      console.log(`coordinator: ${c.coordinatorUrl}`);
      c.workerUrls.forEach((url, i) => console.log(`worker ${i + 1} (${options.runtime}): ${url}`));
      console.log(`dashboard: ${c.coordinatorUrl}/`);
      console.log(`data directory: ${c.dataDir}`);
      console.log(`try: npx edgeprop train docs/examples/mnist-mlp.json --coordinator ${c.coordinatorUrl} --watch   (Ctrl-C stops the cluster)`);
      // Stay in the foreground until a signal or until a process dies.
      await Promise.race(c.processes.map((p) => new Promise((resolve) => p.child.once("exit", resolve))));
      if (signalled()) return; // a stop that the signal handler asked for, and finishes
      console.error("edgeprop: a cluster process exited; stopping the others");
      await c.stop();
      process.exitCode = 1;
    });
  return cluster;
}
