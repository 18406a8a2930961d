/** `edgeprop export <id> --format tfjs|onnx --out PATH`: a trained model for TensorFlow.js or ONNX runtimes. */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Command, Option } from "commander";
import type { ExportFormat } from "../../sdk/mod.ts";
import { clientFor, coordinatorOption } from "../coordinator-client.ts";
import { UsageError } from "../usage-error.ts";

export function exportCommand(): Command {
  return new Command("export")
    .description(
      "Write a trained job's model for other runtimes: --format tfjs writes a TensorFlow.js LayersModel (model.json and its weight file) into the folder PATH; --format onnx writes the ONNX model to the file PATH. Both take the raw features and give what `predict` gives.",
    )
    .argument("<id>", "job id")
    .addOption(new Option("--format <format>", "tfjs or onnx").choices(["tfjs", "onnx"]).makeOptionMandatory())
    .requiredOption("--out <path>", "folder (tfjs) or file (onnx) to write")
    .addOption(coordinatorOption())
    .action(async (id: string, options: { format: ExportFormat; out: string; coordinator: string }) => {
      const files = await clientFor(options.coordinator).downloadExport(id, options.format);
      const folder = options.format === "tfjs" ? options.out : dirname(options.out);
      try {
        await mkdir(folder, { recursive: true });
        const written: string[] = [];
        for (const [name, bytes] of files) {
          const path = options.format === "tfjs" ? join(folder, name) : options.out;
          await writeFile(path, bytes);
          written.push(`${path} (${bytes.length} bytes)`);
        }
        console.log(`wrote ${written.join(", ")}`);
      } catch (error) {
        throw new UsageError(`cannot write the export to '${options.out}': ${(error as Error).message}`);
      }
    });
}
