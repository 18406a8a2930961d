/**
 * Builds a coordinator from its configuration: the file store, datasets, jobs (resuming those a
 * previous process left running) and the HTTP app. Entry files only add the runtime's server.
 */
import { useBackend } from "../core/tf.ts";
import { createCoordinatorApp } from "./app.ts";
import type { CoordinatorConfig } from "./config.ts";
import { DatasetRegistry } from "./datasets/registry.ts";
import { JobManager } from "./jobs/job-manager.ts";
import { FileStore } from "./store/file-store.ts";

export async function createCoordinator(config: CoordinatorConfig) {
  // The coordinator itself only predicts (and evaluates ensembles) with tfjs; training runs on workers.
  await useBackend("wasm");
  const store = new FileStore(config.dataDir);
  const datasets = new DatasetRegistry(store);
  const jobs = new JobManager({ store, registry: datasets, defaultWorkers: config.workers, workerSecret: config.workerSecret });
  const app = createCoordinatorApp({ jobs, datasets, apiToken: config.apiToken });
  await jobs.warm();
  const resumed = await jobs.resumeAll();
  return { app, jobs, resumed };
}
