/**
 * The `edgeprop` CLI: one entry, one command per file in ./commands. Exit codes: 0 success,
 * 1 failure of the thing asked for (a job, a gradient check), 2 usage error (bad arguments or an
 * invalid spec). Errors go to stderr in one line that says what to do.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Command, CommanderError } from "commander";
import { EdgepropError } from "../sdk/mod.ts";
import { clusterCommand } from "./commands/cluster.ts";
import { coordinatorCommand } from "./commands/coordinator.ts";
import { datasetCommand } from "./commands/dataset.ts";
import { demoCommand } from "./commands/demo.ts";
import { exportCommand } from "./commands/export.ts";
import { gradcheckCommand } from "./commands/gradcheck.ts";
import { cancelCommand, continueCommand, jobsCommand, predictCommand, statusCommand, trainCommand, watchCommand } from "./commands/jobs.ts";
import { studyCommand, tuneCommand } from "./commands/tune.ts";
import { workerCommand } from "./commands/worker.ts";
import { ValidationError } from "../../core/validation-error.ts";
import { UsageError } from "./usage-error.ts";

// `edgeprop jobs | head`: once the reader has gone there is no one to tell; end quietly, as Unix tools do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
    process.exit(process.exitCode ?? 0);
  });
}

// By the package's own name: this file is clients/cli/main.ts in the repository, dist/clients/cli/main.js installed.
const { version } = JSON.parse(readFileSync(createRequire(import.meta.url).resolve("edgeprop/package.json"), "utf8")) as { version: string };

const program = new Command("edgeprop")
  .description("Train neural networks on edge functions: coordinator, workers and tools.")
  .version(version, "-V, --version", "print the version of edgeprop")
  .showHelpAfterError("(run with --help for usage)")
  .exitOverride();

for (const command of [
  demoCommand(),
  clusterCommand(),
  coordinatorCommand(),
  workerCommand(),
  trainCommand(),
  watchCommand(),
  continueCommand(),
  jobsCommand(),
  statusCommand(),
  cancelCommand(),
  predictCommand(),
  exportCommand(),
  tuneCommand(),
  studyCommand(),
  datasetCommand(),
  gradcheckCommand(),
]) {
  program.addCommand(command);
}

const configure = (command: Command) => {
  command.exitOverride().showHelpAfterError("(run with --help for usage)");
  command.commands.forEach(configure);
};
program.commands.forEach(configure);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Help and version requests end here too, with exit code 0.
    process.exitCode = error.exitCode === 0 ? 0 : 2;
  } else if (error instanceof EdgepropError) {
    // 4xx: the request was wrong (a usage error); otherwise the coordinator or the job failed.
    const hint = error.status === 0 ? " (is it running? start one with `npx edgeprop cluster up`)" : "";
    console.error(`edgeprop: ${error.message}${hint}`);
    process.exitCode = error.status >= 400 && error.status < 500 ? 2 : 1;
  } else if (error instanceof UsageError || error instanceof ValidationError) {
    // A bad argument or a bad spec checked here (gradcheck): the user's to fix.
    console.error(`edgeprop: ${(error as Error).message}`);
    process.exitCode = 2;
  } else {
    console.error(`edgeprop: ${(error as Error).message ?? error}`);
    process.exitCode = 1;
  }
}
