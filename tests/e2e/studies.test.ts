/**
 * Hyperparameter studies with real processes: a Deno coordinator killed with SIGKILL mid-study and
 * started again on the same data directory resumes the study (and its trials' jobs) and completes
 * it, with each trial run once and each epoch trained once; and `edgeprop tune` / `edgeprop study`
 * as a user runs them.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseJobSpec } from "../../core/job/spec.ts";
import { api, modelParameters, waitForJob } from "../helpers/api.ts";
import { startCoordinator } from "../helpers/coordinator-process.ts";
import { edgepropBin, runCommand } from "../helpers/processes.ts";
import type { ServerProcess } from "../helpers/server-process.ts";
import { waitFor } from "../helpers/wait.ts";
import { startWorker, type WorkerProcess } from "../helpers/worker-process.ts";

const SECRET = "studies-e2e-" + Math.random().toString(36).slice(2);

const study = {
  name: "crash",
  base: {
    dataset: { id: "builtin:moons" },
    model: { input: [2], layers: [{ type: "dense", units: 8 }, { type: "tanh" }, { type: "dense", units: 2 }], output: "softmax" },
    optimizer: { type: "adam", learningRate: 0.01 },
    schedule: { type: "inverseTime", decayRate: 0.2 },
    batchSize: 100,
    chunkSize: 50,
    epochs: 8,
    seed: 4,
  },
  space: { "optimizer.learningRate": { type: "logUniform", min: 1e-3, max: 0.3 } },
  // Rungs of 2, 4 and 8 epochs with 6, 3 and 1 trials: 6·2 + 3·2 + 1·4 = 22 epochs in all.
  strategy: { type: "successiveHalving", trials: 6, minEpochs: 2, eta: 2, concurrency: 2 },
  seed: 9,
};

let workers: WorkerProcess[] = [];
let dataDir: string;

beforeAll(async () => {
  workers = await Promise.all([0, 1].map(() => startWorker("deno", { secret: SECRET })));
  dataDir = await mkdtemp(join(tmpdir(), "edgeprop-studies-e2e-"));
}, 60_000);

afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function waitForStudy(base: string, id: string, timeoutMs = 120_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await api(base, `/v1/studies/${id}`);
    if (body.status !== "running") return body;
    if (Date.now() > deadline) {
      // Say where it stands: the running trials' jobs and the workers as the coordinator sees them.
      const running = body.trials.filter((t: any) => t.status === "running");
      const jobs = await Promise.all(running.map(async (t: any) => (await api(base, `/v1/jobs/${t.jobId}`)).body));
      const states = jobs.map((j: any) => ({ id: j.id, status: j.status, progress: j.progress, error: j.error, epochs: j.spec?.epochs }));
      const pool = (await api(base, "/v1/workers")).body;
      throw new Error(`study ${id} still running after ${timeoutMs} ms: ${JSON.stringify(body.counts)}; running trials' jobs ${JSON.stringify(states)}; workers ${JSON.stringify(pool)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("a study across a coordinator crash", () => {
  it("resumes after SIGKILL on the same data directory and completes, each trial run once", async () => {
    const urls = workers.map((w) => w.url);
    let second: ServerProcess | null = null;
    const first = await startCoordinator({ dataDir, workers: urls, secret: SECRET });
    try {
      const created = await api(first.url, "/v1/studies", { body: study });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const id = created.body.id;
      // Kill it once a trial has finished, while another runs. The workers are stopped (SIGSTOP)
      // first, so that no trial can finish between the last look and the kill: otherwise a trial
      // that ends in that gap, before the next one is queued, leaves no job to resume.
      const runningTrials = async () => {
        const { body } = await api(first.url, `/v1/studies/${id}`);
        expect(body.status).toBe("running"); // must be killed mid-study
        return body.counts.succeeded >= 1 ? body.counts.running : 0;
      };
      await waitFor(runningTrials, (n) => n > 0, "a trial running after one has finished", { timeoutMs: 120_000, intervalMs: 10 });
      for (const w of workers) w.child.kill("SIGSTOP");
      try {
        await waitFor(runningTrials, (n) => n > 0, "a trial running with the workers stopped", { intervalMs: 10 });
        await first.kill();
      } finally {
        for (const w of workers) w.child.kill("SIGCONT");
      }

      second = await startCoordinator({ dataDir, workers: urls, secret: SECRET });
      expect(second.stdout()).toMatch(/resumed [1-9][0-9]* job/);
      const view = await waitForStudy(second.url, id);
      expect(view.status, view.error).toBe("succeeded");
      expect(view.counts).toMatchObject({ total: 6, succeeded: 1, stopped: 5, failed: 0, pending: 0, running: 0 });
      expect(view.trials.map((t: any) => t.epochs).sort((a: number, b: number) => a - b)).toEqual([2, 2, 2, 4, 4, 8]);

      // One job per trial, and the metrics logs hold each of the 22 epochs once.
      const { body: listed } = await api(second.url, "/v1/jobs");
      const jobs = listed.jobs.filter((j: any) => j.studyId === id);
      expect(jobs.map((j: any) => j.id).sort()).toEqual(view.trials.map((t: any) => t.jobId).sort());
      let epochs = 0;
      for (const job of jobs) epochs += (await api(second.url, `/v1/jobs/${job.id}/metrics`)).body.epochs.length;
      expect(epochs).toBe(22);
      expect(view.epochs).toBe(22);

      // The finalist, continued from checkpoints across the crash, has the bits of its spec trained at once.
      const best = view.best;
      expect(best.spec.epochs).toBe(8);
      const again = await api(second.url, "/v1/jobs", { body: { ...best.spec, name: "again" } });
      expect(again.status).toBe(201);
      const record = await waitForJob(second.url, again.body.id);
      expect(record.metrics.devError).toBe(best.metric);
      expect(await modelParameters(second.url, again.body.id)).toEqual(await modelParameters(second.url, best.jobId));
    } finally {
      await first.kill();
      await second?.stop();
    }
  }, 180_000);
});

describe("the CLI", () => {
  it("`tune --watch` shows the trials best first and writes the best spec; `study` shows a study; a bad study exits 2", async () => {
    const dir = await mkdtemp(join(tmpdir(), "edgeprop-tune-"));
    const coordinator = await startCoordinator({ dataDir: join(dir, "data"), workers: workers.map((w) => w.url), secret: SECRET });
    const cli = (args: string[]) => runCommand(process.execPath, [edgepropBin, ...args, "--coordinator", coordinator.url], { timeoutMs: 60_000 });
    try {
      const file = join(dir, "study.json");
      await writeFile(file, JSON.stringify({ ...study, name: "cli", base: { ...study.base, epochs: 2 }, strategy: { type: "random", trials: 3, concurrency: 3 } }));
      const out = join(dir, "best.json");
      const tuned = await cli(["tune", file, "--watch", "--out", out, "--interval", "100"]);
      expect(tuned.code, tuned.stderr).toBe(0);
      const id = /submitted study (study_[0-9a-f]+)/.exec(tuned.stdout)![1];
      // Not a terminal: one line per finished trial, then the table, best first.
      expect(tuned.stdout.match(/^t[0-2] succeeded after 2 epochs: devError /gm)!.length).toBe(3);
      const table = tuned.stdout.slice(tuned.stdout.indexOf(`study ${id} (cli): succeeded, random, 3 trials: 3 succeeded; 6 epochs trained`));
      expect(table).toMatch(/^rank +trial +status +epochs +devError +optimizer\.learningRate$/m);
      const ranks = [...table.matchAll(/^([1-3]) +t[0-2] +succeeded +2\/2 +([0-9.]+) /gm)].map((m) => [Number(m[1]), Number(m[2])]);
      expect(ranks.map((r) => r[0])).toEqual([1, 2, 3]);
      expect(ranks.map((r) => r[1])).toEqual([...ranks.map((r) => r[1])].sort((a, b) => a - b));
      expect(tuned.stdout).toMatch(/best: t[0-2], devError [0-9.]+ after 2 epochs \(optimizer\.learningRate=[0-9.e-]+\)/);
      const { body: view } = await api(coordinator.url, `/v1/studies/${id}`);
      const best = JSON.parse(await readFile(out, "utf8"));
      expect(best).toEqual(view.best.spec);
      expect(parseJobSpec(best).optimizer.learningRate).toBe(view.best.values["optimizer.learningRate"]);

      const shown = await cli(["study", id]);
      expect(shown.code).toBe(0);
      expect(shown.stdout).toContain(`study ${id} (cli): succeeded`);
      const listed = await cli(["study"]);
      expect(listed.stdout).toMatch(new RegExp(`^${id}  cli  succeeded  random  3 trials  best t[0-2] devError`, "m"));

      await writeFile(file, JSON.stringify({ ...study, strategy: { type: "random", trials: 0 } }));
      const bad = await cli(["tune", file]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/'strategy\.trials' must be in \[1, 1000\], current value is 0/);
    } finally {
      await coordinator.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
