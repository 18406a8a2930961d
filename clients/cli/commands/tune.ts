/**
 * `edgeprop tune <study.json> [--watch]` and `edgeprop study [id]`: hyperparameter studies through
 * the SDK. With --watch, a live table of the trials, best first (redrawn in place on a terminal,
 * one line per finished trial in a log), and at the end the best trial's job spec written to a file
 * that `edgeprop train` takes as it is.
 */
import { writeFile } from "node:fs/promises";
import { basename } from "node:path";
import { Command, Option } from "commander";
import { rankTrials, StudiesClient, type Study, type StudyTrial } from "../../sdk/mod.ts";
import { coordinatorOption } from "../coordinator-client.ts";
import { readJsonFile } from "../read-json.ts";
import { UsageError } from "../usage-error.ts";

function studiesFor(url: string): StudiesClient {
  return new StudiesClient({ baseUrl: url, token: process.env.EDGEPROP_API_TOKEN || undefined });
}

/** A sampled value as a table cell: integers whole, other numbers to 3 significant digits. */
export function formatValue(value: unknown): string {
  if (typeof value !== "number") return JSON.stringify(value);
  if (Number.isInteger(value)) return String(value);
  const abs = Math.abs(value);
  return abs !== 0 && (abs < 1e-3 || abs >= 1e5) ? value.toExponential(2) : String(Number(value.toPrecision(3)));
}

const metricCell = (x: number | null) => (x === null ? "-" : x.toFixed(4));

function epochsCell(t: StudyTrial): string {
  return `${t.epochs}/${t.budget}`;
}

/**
 * The study as lines of text: a heading, then a table of its trials best first (at most `limit`
 * rows, the rest counted), then the best trial.
 */
export function studyTable(study: Study, options: { limit?: number } = {}): string[] {
  const c = study.counts;
  const parts = (["succeeded", "stopped", "running", "pending", "failed", "cancelled"] as const).filter((k) => c[k] > 0).map((k) => `${c[k]} ${k}`);
  const lines = [`study ${study.id} (${study.name}): ${study.status}, ${study.strategy.type}, ${c.total} trials${parts.length ? `: ${parts.join(", ")}` : ""}; ${study.epochs} epochs trained`];
  if (study.error) lines.push(`error: ${study.error}`);
  const paths = Object.keys(study.dimensions);
  const ranked = rankTrials(study);
  const shown = options.limit !== undefined && ranked.length > options.limit ? ranked.slice(0, options.limit) : ranked;
  const header = ["rank", "trial", "status", "epochs", study.metric, ...paths];
  const rows = shown.map((t, i) => [
    t.metric === null ? "" : String(i + 1),
    t.id,
    t.status,
    epochsCell(t),
    metricCell(t.metric),
    ...paths.map((p) => formatValue(t.values[p])),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd();
  lines.push(line(header), ...rows.map(line));
  if (shown.length < ranked.length) lines.push(`… and ${ranked.length - shown.length} more`);
  const best = study.best;
  if (best) {
    const values = Object.entries(best.values).map(([p, v]) => `${p}=${formatValue(v)}`).join(", ");
    lines.push(`best: ${best.trialId}, ${study.metric} ${metricCell(best.metric)} after ${best.epochs} epochs (${values})`);
  }
  return lines;
}

/** Where `tune` writes the best spec when --out is not given: `<study file name>.best.json`. */
function defaultOut(file: string): string {
  return `${basename(file).replace(/\.json$/i, "")}.best.json`;
}

async function writeBest(study: Study, out: string): Promise<void> {
  if (!study.best) {
    console.error(`edgeprop: study ${study.id} has no best trial, so no spec was written to '${out}'`);
    return;
  }
  await writeFile(out, JSON.stringify(study.best.spec, null, 2) + "\n");
  console.log(`best spec written to ${out} (train it with \`npx edgeprop train ${out} --watch\`)`);
}

/**
 * Follows a study to its end. On a terminal the table is redrawn in place (cut to the screen's
 * height); otherwise each trial that finishes gets one line, and the whole table comes at the end.
 */
async function watchStudy(client: StudiesClient, id: string, options: { json: boolean; intervalMs: number }): Promise<Study> {
  const out = process.stdout;
  const tty = Boolean(out.isTTY) && process.env.CI !== "true" && !options.json;
  let drawn = 0;
  const reported = new Set<string>();
  let last: Study | null = null;
  for await (const study of client.follow(id, { intervalMs: options.intervalMs })) {
    last = study;
    if (options.json) {
      out.write(JSON.stringify({ event: "study", data: study }) + "\n");
    } else if (tty) {
      // While it runs the table fits the screen, so it can be redrawn in place; the last one is whole.
      const lines = studyTable(study, { limit: study.status === "running" ? Math.max(5, (out.rows ?? 30) - 6) : undefined });
      out.write((drawn ? `\x1b[${drawn}A\x1b[J` : "") + lines.join("\n") + "\n");
      drawn = lines.length;
    } else {
      for (const t of study.trials) {
        const key = `${t.id}:${t.round}:${t.status}`;
        if ((t.status === "running" || t.status === "pending") || reported.has(key)) continue;
        reported.add(key);
        const values = Object.entries(t.values).map(([p, v]) => `${p}=${formatValue(v)}`).join(", ");
        out.write(`${t.id} ${t.status} after ${t.epochs} epochs: ${study.metric} ${metricCell(t.metric)} (${values})${t.error ? `: ${t.error}` : ""}\n`);
      }
    }
  }
  if (!last) last = await client.get(id);
  if (!tty && !options.json) for (const line of studyTable(last)) console.log(line);
  return last;
}

export function tuneCommand(): Command {
  return new Command("tune")
    .description("Submit a hyperparameter study (JSON, DESIGN.md \"Study spec\"); with --watch, show its trials best first until it ends and write the best job spec to a file (exit 1 if the study fails).")
    .argument("<study.json>", "study spec: base job spec, search space, strategy, metric")
    .addOption(coordinatorOption())
    .option("--watch", "follow the study with a live table of trials, best first, until it ends")
    .option("--out <file>", "where --watch writes the best trial's job spec (default: <study file>.best.json)")
    .option("--json", "print the study as JSON lines instead of the table")
    .addOption(new Option("--interval <ms>", "time between updates").default("1000"))
    .action(async (file: string, options: { coordinator: string; watch?: boolean; out?: string; json?: boolean; interval: string }) => {
      const spec = await readJsonFile(file, "study spec");
      const intervalMs = Number(options.interval);
      if (!Number.isFinite(intervalMs) || intervalMs < 50) throw new UsageError(`'--interval' must be a number of milliseconds >= 50, current value is ${JSON.stringify(options.interval)}`);
      const client = studiesFor(options.coordinator);
      const study = await client.submit(spec);
      if (options.json) process.stdout.write(JSON.stringify({ event: "submitted", data: { id: study.id, status: study.status } }) + "\n");
      else console.log(`submitted study ${study.id} (${study.counts.total} trials to start; follow it with \`npx edgeprop study ${study.id}\`)`);
      if (!options.watch) return;
      const final = await watchStudy(client, study.id, { json: Boolean(options.json), intervalMs });
      await writeBest(final, options.out ?? defaultOut(file));
      process.exitCode = final.status === "succeeded" ? 0 : 1;
    });
}

export function studyCommand(): Command {
  return new Command("study")
    .description("Show a study's trials, best first, and its best trial; without an id, list the studies.")
    .argument("[id]", "study id")
    .addOption(coordinatorOption())
    .option("--watch", "follow the study until it ends")
    .option("--out <file>", "write the best trial's job spec to this file")
    .option("--json", "print JSON")
    .action(async (id: string | undefined, options: { coordinator: string; watch?: boolean; out?: string; json?: boolean }) => {
      const client = studiesFor(options.coordinator);
      if (id === undefined) {
        const studies = await client.list();
        if (options.json) {
          console.log(JSON.stringify(studies, null, 2));
          return;
        }
        if (studies.length === 0) {
          console.log("no studies yet: start one with `npx edgeprop tune docs/examples/study-spirals-random.json --watch`");
          return;
        }
        for (const s of studies) {
          const best = s.best ? `best ${s.best.trialId} ${s.metric} ${metricCell(s.best.metric)}` : "no result yet";
          console.log(`${s.id}  ${s.name}  ${s.status}  ${s.strategy}  ${s.counts.total} trials  ${best}`);
        }
        return;
      }
      const study = options.watch ? await watchStudy(client, id, { json: Boolean(options.json), intervalMs: 1000 }) : await client.get(id);
      if (!options.watch) {
        if (options.json) console.log(JSON.stringify(study, null, 2));
        else for (const line of studyTable(study)) console.log(line);
      }
      if (options.out) await writeBest(study, options.out);
      if (options.watch) process.exitCode = study.status === "succeeded" ? 0 : 1;
    });
}
