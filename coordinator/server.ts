/**
 * Builds a coordinator from its configuration: takes the data directory's lock (one coordinator per
 * directory), clears what a killed one left half-written, builds the file store, datasets, jobs and
 * studies (resuming those a previous process left running: jobs first, then the studies that own
 * some of them) and the HTTP app. Entry files only add the runtime's server.
 */
import { useBackend } from "../core/tf.ts";
import { createCoordinatorApp } from "./app.ts";
import type { CoordinatorConfig } from "./config.ts";
import { createDashboard } from "./dashboard.ts";
import { DatasetRegistry } from "./datasets/registry.ts";
import { JobManager } from "./jobs/job-manager.ts";
import { lockDataDir } from "./store/data-lock.ts";
import { FileStore } from "./store/file-store.ts";
import { StudyManager } from "./studies/mod.ts";

export { DataDirLockedError } from "./store/data-lock.ts";

/** Throws DataDirLockedError (naming the holder) when another coordinator uses the data directory. */
export async function createCoordinator(config: CoordinatorConfig) {
  const lock = await lockDataDir(config.dataDir);
  try {
    // The coordinator itself only predicts (and evaluates ensembles) with tfjs; training runs on workers.
    await useBackend("wasm");
    const store = new FileStore(config.dataDir);
    const leftovers = await store.removeLeftovers();
    if (leftovers) console.error(`coordinator: removed ${leftovers} temporary file(s) a previous process left in ${config.dataDir}`);
    const datasets = new DatasetRegistry(store);
    const jobs = new JobManager({ store, registry: datasets, defaultWorkers: config.workers, workerSecret: config.workerSecret });
    const studies = new StudyManager({ jobs, store });
    const dashboard = createDashboard({ authRequired: config.apiToken !== undefined });
    const app = createCoordinatorApp({ jobs, datasets, studies, apiToken: config.apiToken, dashboard: dashboard.index, dashboardAsset: dashboard.asset });
    await jobs.warm();
    const resumed = await jobs.resumeAll();
    const resumedStudies = await studies.resumeAll();
    /** A clean stop: studies and running jobs keep their state and resume on the next start; the lock is released. */
    const close = async () => {
      await studies.shutdown();
      await jobs.shutdown();
      await lock.release();
    };
    return { app, jobs, studies, resumed, resumedStudies, close };
  } catch (error) {
    await lock.release();
    throw error;
  }
}
