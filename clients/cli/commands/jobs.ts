/** `edgeprop train | watch | continue | jobs | status | cancel | predict`: jobs through the SDK. */
import { readFile } from "node:fs/promises";
import { Command, Option } from "commander";
import type { EdgepropClient, Job, JobStatus, JobSummary } from "../../sdk/mod.ts";
import type { StudySummary } from "../../sdk/studies.ts";
import { clientFor, coordinatorOption } from "../coordinator-client.ts";
import { follow } from "../follow.ts";
import { applyOverrides, collect } from "../overrides.ts";
import { finalReport, fmt, pct } from "../progress.ts";
import { readJsonFile } from "../read-json.ts";
import { UsageError } from "../usage-error.ts";
import { parseCount } from "./cluster.ts";

const STATUSES: readonly JobStatus[] = ["queued", "running", "succeeded", "failed", "cancelled"];
const MAX_EPOCHS = 10_000;

const batchSizeOf = (spec: unknown) => (typeof (spec as { batchSize?: unknown }).batchSize === "number" ? (spec as { batchSize: number }).batchSize : 64);

/** `--watch`, `--json` and `--cancel-on-interrupt`, shared by the commands that start a job. */
function followOptions(command: Command): Command {
  return command
    .option("--watch", "follow the job with a progress display until it ends (Ctrl-C stops following; the job goes on)")
    .option("--json", "print machine-readable events (JSON lines) instead of the display")
    .option("--cancel-on-interrupt", "with --watch: Ctrl-C cancels the job instead of leaving it running");
}

interface FollowFlags {
  coordinator: string;
  watch?: boolean;
  json?: boolean;
  cancelOnInterrupt?: boolean;
}

async function maybeFollow(client: EdgepropClient, id: string, spec: unknown, options: FollowFlags): Promise<void> {
  if (!options.watch) return;
  process.exitCode = await follow(client, id, {
    json: Boolean(options.json),
    batchSize: batchSizeOf(spec),
    interrupt: { coordinator: options.coordinator, cancel: Boolean(options.cancelOnInterrupt) },
  });
}

export function trainCommand(): Command {
  return followOptions(
    new Command("train")
      .description("Submit a job spec (JSON) to the coordinator; with --watch, follow it to the end (exit 1 if it fails).")
      .argument("<job.json>", "job spec (DESIGN.md format)")
      .addOption(coordinatorOption())
      .option("--set <path=value>", "change the spec at a path, e.g. --set epochs=20 --set optimizer.learningRate=3e-3 (repeatable; values are JSON or strings)", collect, []),
  ).action(async (file: string, options: FollowFlags & { set: string[] }) => {
    if (options.cancelOnInterrupt && !options.watch) throw new UsageError("--cancel-on-interrupt needs --watch");
    const spec = applyOverrides(await readJsonFile(file, "job spec"), options.set);
    const client = clientFor(options.coordinator);
    const submitted = await client.submitJob(spec);
    if (options.json) process.stdout.write(JSON.stringify({ event: "submitted", data: submitted }) + "\n");
    else console.log(`submitted job ${submitted.id}`);
    await maybeFollow(client, submitted.id, spec, options);
  });
}

export function watchCommand(): Command {
  return new Command("watch")
    .description("Follow a running job to its end (re-attach after Ctrl-C), or print the report of a finished one.")
    .argument("<job-id>", "job id")
    .addOption(coordinatorOption())
    .option("--json", "print machine-readable events (JSON lines) instead of the display")
    .option("--cancel-on-interrupt", "Ctrl-C cancels the job instead of leaving it running")
    .action(async (id: string, options: FollowFlags) => {
      const client = clientFor(options.coordinator);
      const job = await client.getJob(id);
      if (job.status === "running" || job.status === "queued") return maybeFollow(client, id, job.spec, { ...options, watch: true });
      if (options.json) console.log(JSON.stringify(job));
      else for (const line of finalReport(job)) console.log(line);
      process.exitCode = job.status === "succeeded" ? 0 : 1;
    });
}

export function continueCommand(): Command {
  return followOptions(
    new Command("continue")
      .description("Train a succeeded or cancelled job more epochs from its last checkpoint, under the same id.")
      .argument("<job-id>", "job id")
      .requiredOption("--epochs <n>", "epochs to train beyond the last checkpoint")
      .addOption(coordinatorOption()),
  ).action(async (id: string, options: FollowFlags & { epochs: string }) => {
    if (options.cancelOnInterrupt && !options.watch) throw new UsageError("--cancel-on-interrupt needs --watch");
    const more = parseCount(options.epochs, "--epochs", MAX_EPOCHS);
    const client = clientFor(options.coordinator);
    const continued = await client.continueJob(id, more);
    if (options.json) process.stdout.write(JSON.stringify({ event: "continued", data: continued }) + "\n");
    else console.log(`continuing job ${id}: ${more} more epoch(s), ${continued.epochs} in all`);
    await maybeFollow(client, id, (await client.getJob(id)).spec, options);
  });
}

/** A row of `edgeprop jobs`: a job, or a study standing for its trials. */
type Row = { readonly kind: "job"; readonly job: JobSummary } | { readonly kind: "study"; readonly studyId: string; readonly trials: JobSummary[] };

export function jobsCommand(): Command {
  return new Command("jobs")
    .description("List the coordinator's jobs, newest first; a study's trials are folded into one row (see `edgeprop study <id>`).")
    .addOption(coordinatorOption())
    .option("--limit <n>", "rows to show (jobs and studies)", "20")
    .addOption(new Option("--status <status>", "only jobs with this status").choices(STATUSES))
    .option("--trials", "list a study's trials as jobs instead of folding them")
    .option("--json", "print the jobs as JSON (one array, newest first)")
    .action(async (options: { coordinator: string; limit: string; status?: JobStatus; trials?: boolean; json?: boolean }) => {
      const limit = parseCount(options.limit, "--limit", 1000);
      const client = clientFor(options.coordinator);
      const rows: Row[] = [];
      const studies = new Map<string, Row & { kind: "study" }>();
      for await (const job of client.jobs({ limit: Math.min(1000, limit * 4) })) {
        if (options.status && job.status !== options.status) continue;
        const folded = !options.trials && !options.json && job.studyId !== null;
        const study = folded ? studies.get(job.studyId!) : undefined;
        if (study) {
          study.trials.push(job);
          continue;
        }
        if (rows.length === limit) break;
        if (folded) {
          const row = { kind: "study" as const, studyId: job.studyId!, trials: [job] };
          studies.set(job.studyId!, row);
          rows.push(row);
        } else rows.push({ kind: "job", job });
      }
      if (options.json) {
        console.log(JSON.stringify(rows.map((r) => (r as { job: JobSummary }).job), null, 2));
        return;
      }
      if (rows.length === 0) {
        console.log(options.status ? `no ${options.status} jobs` : "no jobs yet: submit one with `npx edgeprop train job.json --watch`");
        return;
      }
      const table = await Promise.all(rows.map((r) => (r.kind === "job" ? jobRow(r.job) : studyRow(client, r.studyId, r.trials))));
      printTable(["id", "name", "status", "epochs", "best dev", "created"], table);
    });
}

const bestDevCell = (best: number | null, metric: JobSummary["bestDevMetric"]) => (best === null ? "-" : metric === "devError" ? `${pct(best)} error` : `${fmt(best)} loss`);

function jobRow(j: JobSummary): string[] {
  return [j.id, j.name, j.status, `${j.epochsDone}/${j.progress.epochs}`, bestDevCell(j.bestDev, j.bestDevMetric), j.createdAt];
}

async function studyRow(client: EdgepropClient, studyId: string, trials: readonly JobSummary[]): Promise<string[]> {
  const study = await client.requestJson<StudySummary>("GET", `/v1/studies/${encodeURIComponent(studyId)}`).catch(() => null);
  const total = study?.counts.total ?? trials.length;
  const best = trials.reduce<number | null>((b, t) => (t.bestDev === null ? b : b === null ? t.bestDev : Math.min(b, t.bestDev)), null);
  const epochs = trials.reduce((sum, t) => sum + t.epochsDone, 0);
  const created = trials.reduce((first, t) => (t.createdAt < first ? t.createdAt : first), trials[0].createdAt);
  return [studyId, `${study?.name ?? "study"} (${total} trials)`, study?.status ?? "-", `${epochs} in all`, bestDevCell(best, trials[0].bestDevMetric), created];
}

export function statusCommand(): Command {
  return new Command("status")
    .description("Show a job: status, progress (latest loss, dev error and ETA while it runs), metrics, diagnosis.")
    .argument("<id>", "job id")
    .addOption(coordinatorOption())
    .option("--json", "print the job record as JSON")
    .action(async (id: string, options: { coordinator: string; json?: boolean }) => {
      const job: Job = await clientFor(options.coordinator).getJob(id);
      if (options.json) {
        console.log(JSON.stringify(job, null, 2));
        return;
      }
      const p = job.progress;
      const member = p.members > 1 ? `member ${p.member + 1}/${p.members}, ` : "";
      if (job.status === "running" || job.status === "queued") {
        console.log(`${job.id} (${job.name}): ${job.status}, ${member}epoch ${p.epoch + 1}/${p.epochs} (${job.epochsDone} done), step ${p.step}/${p.steps}`);
        for (const line of runningLines(job)) console.log(line);
        return;
      }
      console.log(`${job.id} (${job.name}): ${job.status}, ${member}${job.epochsDone}/${p.epochs} epochs done`);
      for (const line of finalReport(job).slice(1)) console.log(line);
    });
}

/** What a running job's record says so far: its last epoch's numbers and when it should end. */
export function runningLines(job: Job): string[] {
  const m = job.metrics;
  const lines: string[] = [];
  if (job.epochsDone > 0 || m.trainLoss !== null) {
    const dev = m.devError !== null ? `, dev error ${pct(m.devError)}` : m.devLoss !== null ? `, dev loss ${fmt(m.devLoss)}` : "";
    const train = m.trainError !== null ? `, train error ${pct(m.trainError)}` : "";
    lines.push(`latest epoch: mean batch loss ${fmt(m.trainLoss)}${train}${dev}`);
  }
  const p = job.progress;
  const remaining = (p.epochs - p.epoch) * p.steps - p.step + (p.members - p.member - 1) * p.epochs * p.steps;
  const stepMs = job.timing.stepMs;
  if (stepMs !== null && p.steps > 0) lines.push(`ETA: ${duration((remaining * stepMs) / 1000)} (${remaining} steps at ${fmt(stepMs, 1)} ms/step, evaluation not included)`);
  else lines.push("ETA: known after the first epoch");
  return lines;
}

function duration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

export function cancelCommand(): Command {
  return new Command("cancel")
    .description("Cancel a job (its last checkpoint stays: `edgeprop continue` trains it further).")
    .argument("<id>", "job id")
    .addOption(coordinatorOption())
    .action(async (id: string, options: { coordinator: string }) => {
      const result = await clientFor(options.coordinator).cancelJob(id);
      console.log(`${result.id}: ${result.status}`);
    });
}

const csvCell = (text: string) => (/[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text);

export function predictCommand(): Command {
  return new Command("predict")
    .description("Predict with a trained job's model: one input per CSV row (numbers; a header row is skipped). Prints CSV: the class, then one probability column per class.")
    .argument("<id>", "job id")
    .argument("<inputs.csv>", "inputs, one example per row")
    .addOption(coordinatorOption())
    .action(async (id: string, file: string, options: { coordinator: string }) => {
      let text: string;
      try {
        text = await readFile(file, "utf8");
      } catch (error) {
        throw new UsageError(`cannot read inputs '${file}': ${(error as Error).message}`);
      }
      const lines = text.split(/\r?\n/).filter((l) => l.trim() !== "");
      const rows: number[][] = [];
      lines.forEach((line, i) => {
        const cells = line.split(",").map((c) => c.trim());
        const values = cells.map(Number);
        if (values.some((v, j) => cells[j] === "" || !Number.isFinite(v))) {
          if (i === 0) return; // a header row
          throw new UsageError(`'${file}' line ${i + 1} is not a row of numbers: ${line.slice(0, 60)}`);
        }
        rows.push(values);
      });
      if (rows.length === 0) throw new UsageError(`'${file}' has no rows of numbers`);
      const client = clientFor(options.coordinator);
      const prediction = await client.predict(id, rows);
      const width = prediction.outputs[0]?.length ?? 0;
      console.log(["class", ...(await outputColumns(client, id, width))].map(csvCell).join(","));
      prediction.outputs.forEach((out, i) => console.log([csvCell(prediction.classes[i] ?? ""), ...out.map((v) => String(v))].join(",")));
    });
}

/** Output columns named by class: `p(setosa)` per softmax output, `p(<second class>)` for one sigmoid output; `output<k>` for regression. */
async function outputColumns(client: EdgepropClient, id: string, width: number): Promise<string[]> {
  const datasetId = ((await client.getJob(id)).spec.dataset as { id?: string } | undefined)?.id;
  const names = datasetId ? (await client.getDataset(datasetId)).classNames : null;
  if (names && names.length === width) return names.map((n) => `p(${n})`);
  if (names && names.length === 2 && width === 1) return [`p(${names[1]})`];
  return Array.from({ length: width }, (_, k) => `output${k}`);
}

export function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  console.log(line(header));
  for (const r of rows) console.log(line(r));
}
