/**
 * The dashboard in headless Chromium (Debian's, via playwright-core) against a real Deno
 * coordinator with an API token and real Deno workers: the token asked once, a job started from
 * the page whose loss chart gains points while it trains and whose verdict shows when it ends, the
 * page opened again after the end, a running job's last checkpoint downloaded and then the job
 * cancelled from its page, jobs overlaid on the compare page (linear and log loss), a job's metrics
 * downloaded as the API's CSV bytes, and a study page with its best trial highlighted and its
 * trials folded under it in the jobs list. Screenshots go to tests/browser/__screenshots__/. Any console error or
 * uncaught exception in the page fails the test.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { EXAMPLE_SPEC } from "../../clients/dashboard/src/jobs-view.ts";
import { decode } from "../../core/wire/codec.ts";
import { api, waitForJob } from "../helpers/api.ts";
import { startCoordinator } from "../helpers/coordinator-process.ts";
import type { ServerProcess } from "../helpers/server-process.ts";
import { startWorker, type WorkerProcess } from "../helpers/worker-process.ts";
import { type Browser, launchChromium, SCREENSHOTS } from "./chromium.ts";

const SECRET = "browser-secret-" + Math.random().toString(36).slice(2);
const TOKEN = "browser-token-" + Math.random().toString(36).slice(2);

/** The form's example (a two-moons MLP); `batchSize` 8 gives 75 steps per epoch, so the page sees it train for seconds. */
const moons = (name: string, epochs: number) => ({ ...EXAMPLE_SPEC, name, batchSize: 8, chunkSize: 4, epochs, seed: 3 });

let workers: WorkerProcess[] = [];
let coordinator: ServerProcess;
let browser: Browser;
let dataDir: string;
let errors: string[] = [];

beforeAll(async () => {
  // Launch first: without Chromium the suite fails at once with the install hint.
  browser = await launchChromium();
  [dataDir, ...workers] = await Promise.all([
    mkdtemp(join(tmpdir(), "edgeprop-browser-")),
    startWorker("deno", { secret: SECRET }),
    startWorker("deno", { secret: SECRET }),
  ]) as [string, WorkerProcess, WorkerProcess];
  coordinator = await startCoordinator({ dataDir, workers: workers.map((w) => w.url), secret: SECRET, apiToken: TOKEN });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await coordinator?.stop();
  await Promise.all(workers.map((w) => w.stop()));
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

afterEach(() => {
  // Console errors of the page fail the test that caused them.
  const seen = errors;
  errors = [];
  expect(seen, "console errors in the page").toEqual([]);
});

async function open(hash: string): Promise<Page> {
  const tab = await browser.newPage();
  errors = tab.errors;
  await tab.page.goto(`${coordinator.url}/${hash}`);
  return tab.page;
}

/** Opens the page in a new tab and enters the token (a new tab has a new session storage). */
async function openSignedIn(hash: string): Promise<Page> {
  const page = await open(hash);
  await page.fill("#token-input", TOKEN);
  await page.click("#token-submit");
  return page;
}

/** The number of points a chart reports plotting (`data-points`). */
async function points(page: Page, chart: string): Promise<number> {
  return Number(await page.getAttribute(`[data-chart="${chart}"]`, "data-points"));
}

/** Polls `read` until `ok` holds (or fails with the last value after `timeoutMs`). */
async function until<T>(read: () => Promise<T>, ok: (value: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last value ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("dashboard", () => {
  it("serves the page and its bundle from the repository with their content types", async () => {
    const index = await fetch(`${coordinator.url}/`);
    expect(index.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(await index.text()).toContain('<meta name="edgeprop-auth-required" content="true">');
    const js = await fetch(`${coordinator.url}/dashboard/app.js`);
    expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect((await js.text()).length).toBeGreaterThan(10_000);
    const css = await fetch(`${coordinator.url}/dashboard/styles.css`);
    expect(css.headers.get("content-type")).toBe("text/css; charset=utf-8");
    expect((await fetch(`${coordinator.url}/dashboard/..%2Fbuild.mjs`)).status).toBe(404);
    expect((await fetch(`${coordinator.url}/dashboard/nope.js`)).status).toBe(404);
  });

  it("asks for the token once, starts a job from the form, plots its loss live and shows the verdict at the end", async () => {
    const EPOCHS = 8; // 600 steps: a few seconds of training to watch
    const page = await open("");
    await page.fill("#token-input", TOKEN);
    await page.click("#token-submit");
    await page.waitForSelector("#jobs-table");
    // The page is not reloaded while the job trains: this mark must survive until the end.
    await page.evaluate(() => ((window as unknown as { mark: number }).mark = 42));

    await page.click("#new-job summary");
    await page.fill("#spec-input", JSON.stringify(moons("from-the-page", EPOCHS)));
    await page.click("#submit-job");
    await page.waitForSelector('[data-page="job"]');
    const id = decodeURIComponent(new URL(page.url()).hash.replace("#/jobs/", ""));
    expect(id).toMatch(/^job_/);

    // The loss chart gains points while the job runs: two readings, both while it is running.
    const reading = async () => page.evaluate(() => ({
      status: document.querySelector("#app")!.getAttribute("data-status"),
      points: Number(document.querySelector('[data-chart="loss"]')!.getAttribute("data-points")),
    }));
    const first = await until(reading, (r) => r.status === "running" && r.points >= 5, "the first loss points");
    const later = await until(reading, (r) => r.status !== "running" || r.points >= first.points + 20, "more loss points");
    expect(later.status, "the job ended before the chart was seen growing").toBe("running");
    expect(later.points).toBeGreaterThan(first.points);

    await page.waitForSelector('#app[data-status="succeeded"]', { timeout: 40_000 });
    const verdict = await page.waitForSelector("#verdict .verdict");
    expect(["high bias", "high variance", "high bias and high variance", "good fit"]).toContain((await verdict.textContent())?.toLowerCase());
    expect(await page.locator("#verdict li").count()).toBeGreaterThan(0);
    const record = await waitForJob(coordinator.url, id, 5_000, TOKEN);
    expect(await page.getAttribute("#verdict", "data-verdict")).toBe(record.diagnosis.verdict);
    // Every step (75 per epoch) and every epoch is plotted, the early-stopping epoch is named.
    await until(() => points(page, "loss"), (n) => n === EPOCHS * 75, "every loss point");
    expect(await points(page, "epochs")).toBe(EPOCHS);
    expect(await points(page, "lr")).toBe(EPOCHS * 75);
    expect(await page.textContent("#early-stop")).toMatch(/Lowest dev error at epoch \d/);
    expect(await page.textContent("#examples-per-second")).toMatch(/examples\/s/);
    // The traffic the record counts, as the page shows it (updated live, final once the job ended).
    expect(record.communication.requests).toBeGreaterThan(0);
    await until(() => page.textContent("#communication-totals"), (t) => t?.startsWith(`${record.communication.requests} requests, `) ?? false, "the final traffic");
    expect(await page.textContent("#bytes-per-example")).toMatch(/^[\d.]+ [KMG]?B per example$/);
    expect(await page.textContent("#job-distribution")).toBe(" · sync");
    expect(await page.locator('#workers tr[data-healthy="true"]').count()).toBe(2);
    expect(await page.evaluate(() => (window as unknown as { mark: number }).mark)).toBe(42);
    await page.screenshot({ path: join(SCREENSHOTS, "job.png"), fullPage: true });

    // Smoothing in the page: v_1 = (1 − β)·θ_1, or θ_1 itself with bias correction (v_1/(1 − β)).
    const loss = page.locator("#chart-loss");
    const raw = Number(await loss.getAttribute("data-raw-first"));
    expect(Number(await loss.getAttribute("data-smoothed-first"))).toBeCloseTo(raw, 10);
    await page.uncheck("#bias-correction");
    await until(async () => Number(await loss.getAttribute("data-smoothed-first")), (v) => Math.abs(v - 0.1 * raw) < 1e-9, "v_1 = 0.1·θ_1");
    await page.locator("#beta").fill("0.5");
    await until(async () => Number(await loss.getAttribute("data-smoothed-first")), (v) => Math.abs(v - 0.5 * raw) < 1e-9, "v_1 = 0.5·θ_1");

    // The model downloads with the token.
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download-model")]);
    expect(download.suggestedFilename()).toBe(`${id}.msgpack`);
    expect((await readFile((await download.path())!)).length).toBeGreaterThan(100);

    // Opened again after the end (the token stays in session storage): the whole history, no prompt.
    await page.reload();
    await page.waitForSelector('#app[data-status="succeeded"]');
    await until(() => points(page, "loss"), (n) => n === EPOCHS * 75, "the history after a reload");
    expect(await page.locator("#token-dialog").count()).toBe(0);
    await page.close();
  }, 60_000);

  it("cancels a running job from its page, opened mid-job", async () => {
    const submitted = await api(coordinator.url, "/v1/jobs", { body: moons("to-cancel", 200), token: TOKEN });
    expect(submitted.status).toBe(201);
    const id = submitted.body.id as string;
    await until(async () => (await api(coordinator.url, `/v1/jobs/${id}`, { token: TOKEN })).body.progress.step, (s) => s >= 10, "the job to start");
    const page = await openSignedIn(`#/jobs/${id}`);
    await page.waitForSelector('#app[data-status="running"]');
    const first = await until(() => points(page, "loss"), (n) => n >= 10, "the loss so far");
    await until(() => points(page, "loss"), (n) => n > first, "live loss points");

    // The last checkpoint downloads while the job runs (one is written at every epoch's end).
    await until(() => page.isDisabled("#download-checkpoint"), (disabled) => !disabled, "the checkpoint button", 30_000);
    const [saved] = await Promise.all([page.waitForEvent("download"), page.click("#download-checkpoint")]);
    expect(saved.suggestedFilename()).toBe(`${id}-checkpoint.msgpack`);
    const checkpoint = decode(new Uint8Array(await readFile((await saved.path())!))) as { state: { version: number; current: { epoch: number; params: Record<string, Float32Array> } }; metricsCount: number };
    expect(checkpoint.state.version).toBe(1);
    expect(checkpoint.state.current.epoch).toBeGreaterThanOrEqual(1);
    expect(Object.values(checkpoint.state.current.params).length).toBeGreaterThan(0);
    expect(Object.values(checkpoint.state.current.params).every((t) => t instanceof Float32Array && t.length > 0)).toBe(true);
    expect((await api(coordinator.url, `/v1/jobs/${id}`, { token: TOKEN })).body.status, "the download came from a running job").toBe("running");

    await page.click("#cancel-job");
    await page.waitForSelector('#app[data-status="cancelled"]', { timeout: 20_000 });
    await page.waitForSelector('#live-state[data-state="ended"]');
    expect(await page.isDisabled("#cancel-job")).toBe(true);
    expect(await page.isDisabled("#download-model")).toBe(true);
    expect((await api(coordinator.url, `/v1/jobs/${id}`, { token: TOKEN })).body.status).toBe("cancelled");

    // The list shows both jobs of this file so far with their final status.
    await page.click('a[href="#/"]');
    await page.waitForSelector(`#jobs-rows tr[data-job-id="${id}"] [data-status="cancelled"]`);
    expect(await page.locator("#jobs-rows tr[data-job-id]").count()).toBeGreaterThanOrEqual(2);
    await page.screenshot({ path: join(SCREENSHOTS, "jobs.png"), fullPage: true });
    await page.close();
  }, 60_000);

  it("overlays picked jobs per epoch, toggles the loss's log scale, and downloads a job's metrics as the API's CSV", async () => {
    const specs = [moons("compare-a", 3), { ...moons("compare-b", 4), optimizer: { type: "adam", learningRate: 0.003 } }].map((s) => ({ ...s, batchSize: 32 }));
    const ids: string[] = [];
    for (const spec of specs) {
      const submitted = await api(coordinator.url, "/v1/jobs", { body: spec, token: TOKEN });
      expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
      ids.push(submitted.body.id as string);
    }
    for (const id of ids) expect((await waitForJob(coordinator.url, id, 40_000, TOKEN)).status).toBe("succeeded");
    const epochs = await Promise.all(ids.map(async (id) => (await api(coordinator.url, `/v1/jobs/${id}/metrics`, { token: TOKEN })).body.epochs.length as number));
    expect(epochs).toEqual([3, 4]);

    // Picked on the jobs list, in order: the compare page's URL keeps the pick.
    const page = await openSignedIn("");
    for (const id of ids) await page.check(`#jobs-rows tr[data-job-id="${id}"] input.pick`);
    expect(await page.textContent("#compare-selected")).toBe("Compare selected (2)");
    // A classifier's best dev is its dev error, written as a percentage.
    expect(await page.textContent(`#jobs-rows tr[data-job-id="${ids[0]}"] td.best-dev`)).toMatch(/^\d+\.\d\d%$/);
    await page.click("#compare-selected");
    await page.waitForSelector('[data-page="compare"] #compare-charts[data-jobs="2"]');
    expect(new URL(page.url()).hash).toBe(`#/compare/${ids.join(",")}`);
    // Train and dev loss of each job (2 × 7 epochs' values), dev error of each (7).
    await until(() => points(page, "compare-loss"), (n) => n === 2 * (3 + 4), "both jobs' losses");
    expect(await points(page, "compare-error")).toBe(3 + 4);
    expect(await page.getAttribute("#chart-compare-loss", "data-y-scale")).toBe("linear");
    expect(await page.locator("#chart-compare-loss .u-legend .u-series").count()).toBe(1 + 4);

    // The log toggle rebuilds the loss chart on a log axis (the losses are positive: all still plotted).
    await page.check("#log-loss");
    await page.waitForSelector('#chart-compare-loss[data-y-scale="log"]');
    expect(await points(page, "compare-loss")).toBe(14);
    expect(await page.getAttribute("#chart-compare-error", "data-y-scale")).toBe("linear");
    await page.screenshot({ path: join(SCREENSHOTS, "compare.png"), fullPage: true });
    await page.uncheck("#log-loss");
    await page.waitForSelector('#chart-compare-loss[data-y-scale="linear"]');

    // Unpicked on the page: one job left, the URL follows.
    await page.uncheck(`#compare-picker input.pick[data-job-id="${ids[1]}"]`);
    await page.waitForSelector('#compare-charts[data-jobs="1"]');
    expect(await points(page, "compare-loss")).toBe(2 * 3);
    expect(new URL(page.url()).hash).toBe(`#/compare/${ids[0]}`);

    // The job's metrics as CSV: the downloaded bytes are the API's.
    await page.goto(`${coordinator.url}/#/jobs/${ids[1]}`);
    await page.waitForSelector('#app[data-status="succeeded"]');
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download-csv")]);
    expect(download.suggestedFilename()).toBe(`${ids[1]}-metrics.csv`);
    const fromApi = await fetch(`${coordinator.url}/v1/jobs/${ids[1]}/metrics?format=csv`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(fromApi.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    const expected = Buffer.from(await fromApi.arrayBuffer());
    const got = await readFile((await download.path())!);
    expect(got.equals(expected), `downloaded ${got.length} bytes, the API sends ${expected.length}`).toBe(true);
    expect(expected.toString("utf8").trim().split("\n").length).toBe(1 + 4);
    await page.close();
  }, 90_000);

  it("shows a study: a scatter per hyperparameter, log axis for the learning rate, the best trial highlighted", async () => {
    const study = {
      name: "browser-lr",
      base: moons("study-base", 2),
      space: {
        "optimizer.learningRate": { type: "logUniform", min: 1e-3, max: 0.3 },
        "model.layers[0].units": { type: "int", min: 4, max: 32 },
      },
      strategy: { type: "random", trials: 4, concurrency: 2 },
      metric: "devError",
      seed: 11,
    };
    const created = await api(coordinator.url, "/v1/studies", { body: { ...study, base: { ...study.base, batchSize: 32 } }, token: TOKEN });
    if (created.status === 404) {
      throw new Error("POST /v1/studies answered 404: the coordinator has no study routes mounted (coordinator/studies, issue of the hyperparameter studies); the study page cannot be tested without them");
    }
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.id as string;

    const page = await openSignedIn(`#/studies/${id}`);
    await page.waitForSelector('[data-page="study"] #trials-table');
    // The page polls the study until it has finished.
    await until(() => page.getAttribute("#app", "data-status"), (s) => s !== null && s !== "running", "the study to finish", 45_000);
    const answer = (await api(coordinator.url, `/v1/studies/${id}`, { token: TOKEN })).body;
    expect(answer.best?.trialId, JSON.stringify(answer)).toBeTruthy();
    await page.waitForSelector(`#trials-rows tr.best[data-trial-id="${answer.best.trialId}"]`);
    expect(await page.locator("#trials-rows tr.best").count()).toBe(1);
    expect(await page.getAttribute("#best-trial", "data-trial-id")).toBe(answer.best.trialId);

    const scored = answer.trials.filter((t: { metric: number | null }) => typeof t.metric === "number").length;
    const lr = page.locator('[data-dimension="optimizer.learningRate"] .chart');
    expect(await lr.getAttribute("data-scale")).toBe("log");
    expect(Number(await lr.getAttribute("data-points"))).toBe(scored);
    expect(await page.getAttribute('[data-dimension="model.layers[0].units"] .chart', "data-scale")).toBe("linear");

    await page.screenshot({ path: join(SCREENSHOTS, "study.png"), fullPage: true });

    // Sorted by metric, ascending then descending.
    const metrics = async () => page.locator("#trials-rows td.metric").allTextContents();
    const ascending = await metrics();
    const values = ascending.filter((t) => t !== "—").map((t) => Number(t.replace("%", "")));
    expect(values).toEqual([...values].sort((a, b) => a - b));
    await page.click("#sort-metric");
    const descending = (await metrics()).filter((t) => t !== "—").map((t) => Number(t.replace("%", "")));
    expect(descending).toEqual([...values].sort((a, b) => b - a));

    expect(await page.isDisabled("#cancel-study")).toBe(true); // a finished study cannot be cancelled

    // The home page lists the study and links to it; its trials are folded under one row of the jobs list.
    await page.click('a[href="#/"]');
    const group = page.locator(`#jobs-rows tr.study-row[data-study-id="${id}"]`);
    expect(await group.getAttribute("data-trials")).toBe(String(answer.trials.length));
    await until(() => group.locator("td").nth(1).textContent(), (t) => t?.startsWith(`browser-lr · ${answer.trials.length} trials`) ?? false, "the study's name on its row");
    const trials = page.locator(`#jobs-rows tr[data-study-trial="${id}"]`);
    expect(await trials.count()).toBe(answer.trials.length);
    expect(await trials.first().isVisible()).toBe(false);
    await group.locator("button.fold").click();
    await trials.first().waitFor({ state: "visible" });
    expect(await page.locator(`#jobs-rows tr[data-study-trial="${id}"]:visible`).count()).toBe(answer.trials.length);
    await page.screenshot({ path: join(SCREENSHOTS, "jobs-study.png"), fullPage: true });
    await page.click(`#studies-rows tr[data-study-id="${id}"] a`);
    await page.waitForSelector(`#trials-rows tr.best[data-trial-id="${answer.best.trialId}"]`);
    await page.close();
  }, 60_000);

  it("cancels a running study from its page", async () => {
    const created = await api(coordinator.url, "/v1/studies", {
      body: {
        name: "to-cancel",
        base: { ...moons("long-base", 300), batchSize: 32 },
        space: { "optimizer.learningRate": { type: "logUniform", min: 1e-3, max: 0.3 } },
        strategy: { type: "random", trials: 8, concurrency: 1 },
        seed: 3,
      },
      token: TOKEN,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.id as string;
    const page = await openSignedIn(`#/studies/${id}`);
    await page.waitForSelector('#app[data-status="running"]');
    await until(() => page.isDisabled("#cancel-study"), (disabled) => !disabled, "the cancel button");
    await page.click("#cancel-study");
    await page.waitForSelector('#app[data-status="cancelled"]', { timeout: 20_000 });
    expect(await page.isDisabled("#cancel-study")).toBe(true);
    expect((await api(coordinator.url, `/v1/studies/${id}`, { token: TOKEN })).body.status).toBe("cancelled");
    await page.close();
  }, 60_000);

  it("shows a local-mode job's distribution and its rounds done, as the record counts them", async () => {
    const distribution = { mode: "local", replicas: 2, innerSteps: 5, outer: { type: "momentum", learningRate: 0.9, momentum: 0.5 } };
    const submitted = await api(coordinator.url, "/v1/jobs", { body: { ...moons("local-rounds", 2), distribution }, token: TOKEN });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
    const id = submitted.body.id as string;
    const page = await openSignedIn(`#/jobs/${id}`);
    const mode = " · local 2×5 (keep), outer momentum lr 0.9 momentum 0.5";
    // Live: a round count below the total while the job runs (or the final one if it was quicker than the page).
    const live = await until(() => page.textContent("#job-distribution"), (t) => /^ · local .* · round \d+\/\d+$/.test(t ?? ""), "the first round count");
    expect(live!.startsWith(`${mode} · round `)).toBe(true);
    await page.waitForSelector('#app[data-status="succeeded"]', { timeout: 40_000 });
    const record = await waitForJob(coordinator.url, id, 5_000, TOKEN);
    // 75 steps an epoch in rounds of 5: 15 rounds an epoch, 30 in all.
    expect(record.progress.rounds).toEqual({ done: 30, total: 30 });
    await until(() => page.textContent("#job-distribution"), (t) => t === `${mode} · round 30/30`, "the final round count");
    await page.close();
  }, 60_000);
});