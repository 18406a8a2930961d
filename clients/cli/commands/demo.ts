/**
 * `edgeprop demo` (what `npm start` runs): a local cluster of two Deno workers and a coordinator,
 * a real MNIST job (He init, batch norm, dropout, L2, Adam, learning-rate decay) followed with a
 * progress display, and a final report. Everything it started is stopped at the end or on Ctrl-C.
 */
import { join, resolve } from "node:path";
import { Command } from "commander";
import { clientFor } from "../coordinator-client.ts";
import { follow } from "../follow.ts";
import { parseCount, startWithSignals } from "./cluster.ts";

export function demoJob(epochs: number) {
  return {
    name: "mnist-demo",
    dataset: { id: "builtin:mnist", split: "auto", normalize: "standardize" },
    model: {
      input: [784],
      layers: [
        { type: "dense", units: 128, init: "he" },
        { type: "batchnorm", momentum: 0.9, epsilon: 1e-5 },
        { type: "relu" },
        { type: "dropout", keepProb: 0.8 },
        { type: "dense", units: 10, init: "xavier" },
      ],
      output: "softmax",
    },
    regularization: { l2: 1e-4 },
    optimizer: { type: "adam", learningRate: 2e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 },
    schedule: { type: "inverseTime", decayRate: 0.3 },
    batchSize: 64,
    epochs,
    chunkSize: 32,
    seed: 42,
    deterministic: true,
  };
}

export function demoCommand(): Command {
  return new Command("demo")
    .description("Train an MNIST MLP on a local cluster of edge workers and report the result (what `npm start` runs).")
    .option("--epochs <n>", "epochs to train", "8")
    .option("--workers <n>", "number of Deno edge workers", "2")
    .option("--data-dir <dir>", "job store directory", "./.edgeprop")
    .option("--keep", "keep the cluster (and its dashboard) running after the report, until Ctrl-C")
    .action(async (options: { epochs: string; workers: string; dataDir: string; keep?: boolean }) => {
      const epochs = parseCount(options.epochs, "--epochs", 1000);
      const workers = parseCount(options.workers, "--workers", 16);
      const dataDir = resolve(options.dataDir);
      console.log(`starting a local cluster: ${workers} Deno edge workers and a coordinator...`);
      const { cluster, removeHandlers } = await startWithSignals({ workers, port: 0, dataDir }, () => console.log("\nstopping the cluster..."));
      if (!cluster) return;
      try {
        console.log(`coordinator ${cluster.coordinatorUrl}, workers ${cluster.workerUrls.join(", ")}`);
        const client = clientFor(cluster.coordinatorUrl);
        const job = demoJob(epochs);
        const mnist = await client.getDataset(job.dataset.id);
        const { id } = await client.submitJob(job);
        console.log(`training ${job.name} (784-128-10 MLP, batch norm, dropout, L2, Adam, inverse-time decay) for ${epochs} epoch(s) on builtin:mnist (${mnist.rows.toLocaleString("en-US")} digits, split 60/20/20 into train/dev/test) as job ${id}`);
        const code = await follow(client, id, { json: false, batchSize: job.batchSize });
        if (code === 0) {
          console.log(`model saved: ${join(dataDir, "jobs", id, "model.msgpack")} (after its checksum line; GET ${cluster.coordinatorUrl}/v1/jobs/${id}/model gives the plain MessagePack)`);
        }
        process.exitCode = code;
        if (options.keep) {
          console.log(`dashboard: ${cluster.coordinatorUrl}/ — the cluster keeps running; press Ctrl-C to stop it`);
          await new Promise<never>(() => {}); // the signal handler stops the cluster and exits
        }
      } finally {
        await cluster.stop();
        removeHandlers();
      }
      console.log("the cluster is stopped now; `npm start -- --keep` keeps it (and its dashboard) running after the report");
    });
}
