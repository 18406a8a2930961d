/** `edgeprop dataset upload <file.csv> --label COL` and `edgeprop dataset list`. */
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { Command, Option } from "commander";
import { clientFor, coordinatorOption } from "../coordinator-client.ts";
import { UsageError } from "../usage-error.ts";
import { printTable } from "./jobs.ts";

export function datasetCommand(): Command {
  const dataset = new Command("dataset").description("Upload and list datasets.");
  dataset
    .command("upload")
    .description("Upload a CSV with a header row; --label names the label column, every other column is a numeric feature.")
    .argument("<file.csv>", "the CSV file")
    .requiredOption("--label <column>", "name of the label column")
    .option("--name <name>", "dataset name (default: the file name)")
    .addOption(new Option("--task <task>", "what the label is").choices(["classification", "regression"]).default("classification"))
    .addOption(coordinatorOption())
    .action(async (file: string, options: { label: string; name?: string; task: "classification" | "regression"; coordinator: string }) => {
      let text: string;
      try {
        text = await readFile(file, "utf8");
      } catch (error) {
        throw new UsageError(`cannot read '${file}': ${(error as Error).message}`);
      }
      const record = await clientFor(options.coordinator).uploadCsv(text, { name: options.name ?? basename(file).replace(/\.csv$/i, ""), label: options.label, task: options.task });
      console.log(`uploaded ${record.name}: id ${record.id}, ${record.rows} rows, ${record.features} features${record.classes === null ? "" : `, ${record.classes} classes`}`);
    });
  dataset
    .command("list")
    .description("List builtin and uploaded datasets.")
    .addOption(coordinatorOption())
    .action(async (options: { coordinator: string }) => {
      const all = await clientFor(options.coordinator).listDatasets();
      printTable(["id", "rows", "features", "classes", "description"], all.map((d) => [d.id, String(d.rows), String(d.features), d.classes === null ? "-" : String(d.classes), d.description ?? d.name]));
    });
  return dataset;
}
