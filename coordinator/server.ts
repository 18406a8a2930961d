/**
 * Builds a coordinator from its configuration: the file store, datasets, jobs and studies (resuming
 * those a previous process left running: jobs first, then the studies that own some of them) and
 * the HTTP app. Entry files only add the runtime's server.
 */
import { useBackend } from "../core/tf.ts";
import { createCoordinatorApp } from "./app.ts";
import type { CoordinatorConfig } from "./config.ts";
import { createDashboard } from "./dashboard.ts";
import { DatasetRegistry } from "./datasets/registry.ts";
import { JobManager } from "./jobs/job-manager.ts";
import { FileStore } from "./store/file-store.ts";
import { StudyManager } from "./studies/mod.ts";

export async function createCoordinator(config: CoordinatorConfig) {
  // The coordinator itself only predicts (and evaluates ensembles) with tfjs; training runs on workers.
  await useBackend("wasm");
  const store = new FileStore(config.dataDir);
  const datasets = new DatasetRegistry(store);
  const jobs = new JobManager({ store, registry: datasets, defaultWorkers: config.workers, workerSecret: config.workerSecret });
  const studies = new StudyManager({ jobs, store });
  const dashboard = createDashboard({ authRequired: config.apiToken !== undefined });
  const app = createCoordinatorApp({ jobs, datasets, studies, apiToken: config.apiToken, dashboard: dashboard.index, dashboardAsset: dashboard.asset });
  await jobs.warm();
  const resumed = await jobs.resumeAll();
  const resumedStudies = await studies.resumeAll();
  return { app, jobs, studies, resumed, resumedStudies };
}
