/**
 * A job's life from the terminal, with real CLI processes against a real cluster (Deno workers):
 * Ctrl-C during `train --watch` (the job goes on; the cursor is shown again on a terminal), `watch`
 * re-attaching, `--cancel-on-interrupt`, `continue`, `--set`, `status` of a running job, `jobs`
 * newest first with --limit/--status, `jobs | head`-style EPIPE, early stopping's line, `predict`
 * columns named by class.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api } from "../helpers/api.ts";
import { edgepropBin, repoRoot, runCommand } from "../helpers/processes.ts";
import { descendantsOf } from "../helpers/process-tree.ts";
import { waitFor, within } from "../helpers/wait.ts";

let dir: string;
let cluster: ChildProcess;
let clusterOutput = "";
let url = "";

const cli = (args: string[]) => runCommand(process.execPath, [edgepropBin, ...args, "--coordinator", url], { timeoutMs: 120_000 });

/** A CLI process whose output is collected as it comes. */
function start(file: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(file, args, { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1", ...env } });
  const out = { stdout: "", stderr: "" };
  child.stdout!.setEncoding("utf8").on("data", (s: string) => (out.stdout += s));
  child.stderr!.setEncoding("utf8").on("data", (s: string) => (out.stderr += s));
  const exit = once(child, "exit").then(([code]) => code as number | null);
  return { child, out, exit };
}

const moons = (over: object = {}) => ({
  name: "moons",
  dataset: { id: "builtin:moons" },
  model: { input: [2], layers: [{ type: "dense", units: 8 }, { type: "relu" }, { type: "dense", units: 2 }], output: "softmax" },
  optimizer: { type: "adam", learningRate: 0.02 },
  batchSize: 100,
  epochs: 2,
  ...over,
});

async function specFile(name: string, spec: object): Promise<string> {
  const file = join(dir, `${name}.json`);
  await writeFile(file, JSON.stringify(spec));
  return file;
}

const statusOf = async (id: string) => (await api(url, `/v1/jobs/${id}`)).body.status as string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "edgeprop-cli-life-"));
  cluster = spawn(process.execPath, [edgepropBin, "cluster", "up", "--workers", "2", "--port", "0", "--data-dir", join(dir, "data")], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
  cluster.stdout!.setEncoding("utf8").on("data", (s: string) => (clusterOutput += s));
  cluster.stderr!.setEncoding("utf8").on("data", (s: string) => (clusterOutput += s));
  await waitFor(() => clusterOutput, (o) => /dashboard: /.test(o) || cluster.exitCode !== null, "`cluster up` to print its URLs");
  if (cluster.exitCode !== null) throw new Error(`cluster up failed: ${clusterOutput}`);
  url = /coordinator: (http:\/\/\S+)/.exec(clusterOutput)![1];
}, 90_000);

afterAll(async () => {
  if (cluster && cluster.exitCode === null) {
    cluster.kill("SIGINT");
    await within(once(cluster, "exit"), "the cluster to stop", 30_000).catch(() => cluster.kill("SIGKILL"));
  }
  await rm(dir, { recursive: true, force: true });
});

describe("Ctrl-C, watch and --cancel-on-interrupt", () => {
  it("says the job goes on (id, watch and cancel commands), restores the cursor, and watch re-attaches", async () => {
    const file = await specFile("long", moons({ name: "long", epochs: 5000 }));
    // On a terminal (script(1) gives it one), so the progress bar hides the cursor. script runs the
    // command with $SHELL, and dash (root's /bin/sh in CI) forks rather than execs it: `exec` leaves
    // one process, the CLI, for Ctrl-C to reach.
    const train = start("script", ["-qfec", `exec ${process.execPath} ${edgepropBin} train ${file} --watch --coordinator ${url}`, "/dev/null"], { CI: "" });
    await waitFor(() => train.out.stdout, (o) => /epoch 2\/5000/.test(o) || train.child.exitCode !== null, "train --watch to show epoch 2", { timeoutMs: 60_000 });
    const id = /submitted job (\S+)/.exec(train.out.stdout)![1];
    expect(train.out.stdout).toContain("\x1b[?25l");
    const node = descendantsOf(train.child.pid!).find(([, args]) => args.startsWith(`${process.execPath} ${edgepropBin} train`));
    expect(node, "the CLI process under script").toBeDefined();
    process.kill(node![0], "SIGINT");
    expect(await within(train.exit, "train to exit after Ctrl-C", 30_000)).toBe(130);
    const text = train.out.stdout;
    expect(text).toContain(`stopped following job ${id}; the job goes on running on the coordinator`);
    expect(text).toContain(`npx edgeprop watch ${id} --coordinator ${url}`);
    expect(text).toContain(`npx edgeprop cancel ${id} --coordinator ${url}`);
    expect(text.lastIndexOf("\x1b[?25h")).toBeGreaterThan(text.lastIndexOf("\x1b[?25l")); // the cursor is shown again
    expect(await statusOf(id)).toBe("running");

    const status = await cli(["status", id]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`${id} \\(long\\): running, epoch \\d+/5000 \\(\\d+ done\\)`));
    expect(status.stdout).toMatch(/latest epoch: mean batch loss \d+\.\d+, train error \d+\.\d\d%, dev error \d+\.\d\d%/);
    expect(status.stdout).toMatch(/ETA: (\d+h \d+m|\d+m \d+s|\d+s) \(\d+ steps at [\d.]+ ms\/step/);

    const watch = start(process.execPath, [edgepropBin, "watch", id, "--coordinator", url]);
    await waitFor(() => watch.out.stderr, (o) => /^epoch \d+\/5000: mean batch loss/m.test(o) || watch.child.exitCode !== null, "watch to show an epoch");
    const cancelled = await cli(["cancel", id]);
    expect(cancelled.stdout.trim()).toBe(`${id}: cancelled`);
    expect(await within(watch.exit, "watch to end with the job", 30_000)).toBe(1);
    expect(watch.out.stdout).toContain(`job ${id} (long): cancelled`);

    const finished = await cli(["watch", id]);
    expect(finished.code).toBe(1);
    expect(finished.stdout.split("\n")[0]).toBe(`job ${id} (long): cancelled`);
  }, 180_000);

  it("cancels the job on Ctrl-C with --cancel-on-interrupt", async () => {
    const file = await specFile("long2", moons({ name: "long2", epochs: 5000 }));
    const train = start(process.execPath, [edgepropBin, "train", file, "--watch", "--cancel-on-interrupt", "--coordinator", url]);
    await waitFor(() => train.out.stderr, (o) => /^epoch 1\/5000/m.test(o) || train.child.exitCode !== null, "train --watch to show epoch 1");
    const id = /submitted job (\S+)/.exec(train.out.stdout)![1];
    train.child.kill("SIGINT");
    expect(await within(train.exit, "train to exit after Ctrl-C", 30_000)).toBe(130);
    expect(train.out.stderr).toContain(`interrupted; job ${id} is cancelled`);
    expect(await statusOf(id)).toBe("cancelled");
  }, 120_000);
});

describe("continue, --set, jobs, early stopping and predict", () => {
  it("trains with --set, continues the job under the same id, and lists jobs newest first", async () => {
    const file = await specFile("base", moons({ epochs: 50 }));
    const bad = await cli(["train", file, "--set", "optimizer.learningRat=0.1"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^edgeprop: --set optimizer\.learningRat=0\.1: .*learningRat/);
    const negative = await cli(["train", file, "--set", "epochs=-1"]);
    expect(negative.code).toBe(2);
    expect(negative.stderr).toMatch(/^edgeprop: --set epochs=-1: .*'epochs'/);

    const trained = await cli(["train", file, "--set", "epochs=2", "--set", "name=\"short\"", "--watch"]);
    expect(trained.code, trained.stderr).toBe(0);
    const id = /submitted job (\S+)/.exec(trained.stdout)![1];
    expect(trained.stdout).toContain(`job ${id} (short): succeeded`);

    const continued = await cli(["continue", id, "--epochs", "1", "--watch"]);
    expect(continued.code, continued.stderr).toBe(0);
    expect(continued.stdout).toContain(`continuing job ${id}: 1 more epoch(s), 3 in all`);
    expect(continued.stderr).toMatch(/^epoch 3\/3: /m);
    const status = await cli(["status", id]);
    expect(status.stdout).toMatch(new RegExp(`${id} \\(short\\): succeeded, 3/3 epochs done`));

    const later = await cli(["train", file, "--set", "epochs=1", "--set", "name=later", "--watch"]);
    const laterId = /submitted job (\S+)/.exec(later.stdout)![1];
    const json = JSON.parse((await cli(["jobs", "--json", "--limit", "2"])).stdout) as { id: string; epochsDone: number; progress: { epochs: number } }[];
    expect(json.map((j) => j.id)).toEqual([laterId, id]);
    expect(json[1]).toMatchObject({ epochsDone: 3, progress: { epochs: 3 } });
    const table = (await cli(["jobs", "--limit", "1"])).stdout.trim().split("\n");
    expect(table.length).toBe(2);
    expect(table[1]).toMatch(new RegExp(`^${laterId} +later +succeeded +1/1 +\\d+\\.\\d\\d% error`));
    const cancelledOnly = (await cli(["jobs", "--status", "cancelled"])).stdout;
    expect(cancelledOnly).not.toContain(laterId);
    expect((await cli(["jobs", "--status", "done"])).code).toBe(2);
  }, 180_000);

  it("prints Keras's early-stopping line and names predict's columns by class", async () => {
    // minDelta 100: only epoch 1 improves, so patience 1 stops the job after epoch 2.
    const file = await specFile("early", moons({ name: "early", epochs: 10, earlyStopping: { patience: 1, minDelta: 100 } }));
    const trained = await cli(["train", file, "--watch"]);
    expect(trained.code, trained.stderr).toBe(0);
    expect(trained.stdout).toContain("stopped early at epoch 2; restored the weights of epoch 1 (lowest dev loss)");
    const id = /submitted job (\S+)/.exec(trained.stdout)![1];
    const predicted = await cli(["predict", id, "docs/examples/moons-inputs.csv"]);
    expect(predicted.code, predicted.stderr).toBe(0);
    expect(predicted.stdout.split("\n")[0]).toBe("class,p(0),p(1)");
  }, 120_000);

  it("ends quietly when the reader of its output has gone (`edgeprop jobs | head`)", async () => {
    const piped = await runCommand("bash", ["-o", "pipefail", "-c", `${process.execPath} ${edgepropBin} jobs --coordinator ${url} | head -c 0`]);
    expect(piped.stderr).toBe("");
    expect(piped.code).toBe(0);
  }, 60_000);
});
