/** `edgeprop train | jobs | status | cancel | predict`: jobs through the SDK. */
import { readFile } from "node:fs/promises";
import { Command } from "commander";
import type { EdgepropClient, Job } from "../../sdk/mod.ts";
import { clientFor, coordinatorOption } from "../coordinator-client.ts";
import { finalReport, ProgressDisplay } from "../progress.ts";
import { readJsonFile } from "../read-json.ts";
import { UsageError } from "../usage-error.ts";

/** Follows a job to its end with the progress display (or JSON lines); returns the exit code. */
export async function follow(client: EdgepropClient, id: string, options: { json: boolean; batchSize: number }): Promise<number> {
  const display = options.json ? null : new ProgressDisplay({ batchSize: options.batchSize });
  for await (const event of client.watch(id)) {
    if (options.json) process.stdout.write(JSON.stringify({ event: event.type, id: event.id, data: event.data }) + "\n");
    else display!.handle(event);
  }
  const job = await client.getJob(id);
  if (!options.json) for (const line of finalReport(job)) console.log(line);
  return job.status === "succeeded" ? 0 : 1;
}

export function trainCommand(): Command {
  return new Command("train")
    .description("Submit a job spec (JSON) to the coordinator; with --watch, follow it to the end (exit 1 if it fails).")
    .argument("<job.json>", "job spec (DESIGN.md format)")
    .addOption(coordinatorOption())
    .option("--watch", "follow the job with a progress display until it ends")
    .option("--json", "print machine-readable events (JSON lines) instead of the display")
    .action(async (file: string, options: { coordinator: string; watch?: boolean; json?: boolean }) => {
      const spec = await readJsonFile(file, "job spec");
      const client = clientFor(options.coordinator);
      const submitted = await client.submitJob(spec);
      if (options.json) process.stdout.write(JSON.stringify({ event: "submitted", data: submitted }) + "\n");
      else console.log(`submitted job ${submitted.id}`);
      if (!options.watch) return;
      const batchSize = typeof (spec as { batchSize?: unknown }).batchSize === "number" ? (spec as { batchSize: number }).batchSize : 64;
      process.exitCode = await follow(client, submitted.id, { json: Boolean(options.json), batchSize });
    });
}

export function jobsCommand(): Command {
  return new Command("jobs")
    .description("List the coordinator's jobs.")
    .addOption(coordinatorOption())
    .option("--json", "print JSON")
    .action(async (options: { coordinator: string; json?: boolean }) => {
      const jobs = await clientFor(options.coordinator).listJobs();
      if (options.json) {
        console.log(JSON.stringify(jobs, null, 2));
        return;
      }
      if (jobs.length === 0) {
        console.log("no jobs yet: submit one with `npx edgeprop train job.json --watch`");
        return;
      }
      const rows = jobs.map((j) => [j.id, j.name, j.status, `${j.progress.epoch + (j.status === "succeeded" ? 1 : 0)}/${j.progress.epochs}`, j.bestDev === null ? "-" : j.bestDev.toFixed(4), j.createdAt]);
      printTable(["id", "name", "status", "epochs", "best dev", "created"], rows);
    });
}

export function statusCommand(): Command {
  return new Command("status")
    .description("Show a job: status, progress, metrics, diagnosis.")
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
      console.log(`${job.id} (${job.name}): ${job.status}, epoch ${p.epoch + 1}/${p.epochs}, step ${p.step}/${p.steps}`);
      for (const line of finalReport(job).slice(1)) console.log(line);
    });
}

export function cancelCommand(): Command {
  return new Command("cancel")
    .description("Cancel a job (its last checkpoint stays).")
    .argument("<id>", "job id")
    .addOption(coordinatorOption())
    .action(async (id: string, options: { coordinator: string }) => {
      const result = await clientFor(options.coordinator).cancelJob(id);
      console.log(`${result.id}: ${result.status}`);
    });
}

export function predictCommand(): Command {
  return new Command("predict")
    .description("Predict with a trained job's model: one input per CSV row (numbers; a header row is skipped). Prints CSV.")
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
      const prediction = await clientFor(options.coordinator).predict(id, rows);
      const width = prediction.outputs[0]?.length ?? 0;
      console.log(["class", ...Array.from({ length: width }, (_, k) => `output${k}`)].join(","));
      prediction.outputs.forEach((out, i) => console.log([prediction.classes[i] ?? "", ...out.map((v) => String(v))].join(",")));
    });
}

export function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  console.log(line(header));
  for (const r of rows) console.log(line(r));
}
