/**
 * The `edgeprop` CLI: one entry, one command per file in ./commands. Exit codes: 0 success,
 * 1 failure of the thing asked for (a job, a gradient check), 2 usage error (bad arguments or an
 * invalid spec). Errors go to stderr in one line that says what to do.
 */
import { Command, CommanderError } from "commander";
import { gradcheckCommand } from "./commands/gradcheck.ts";
import { UsageError } from "./usage-error.ts";

const program = new Command("edgeprop")
  .description("Train neural networks on edge functions: coordinator, workers and tools.")
  .showHelpAfterError("(run with --help for usage)")
  .exitOverride();

program.addCommand(gradcheckCommand());
program
  .command("demo")
  .description("Run the demo training job on a local cluster (what `npm start` runs).")
  .action(() => {
    console.log("edgeprop: the demo arrives with the coordinator. Until then, try: npx edgeprop gradcheck --help");
  });

for (const command of program.commands) {
  command.exitOverride().showHelpAfterError("(run with --help for usage)");
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Help and version requests end here too, with exit code 0.
    process.exitCode = error.exitCode === 0 ? 0 : 2;
  } else if (error instanceof UsageError || error instanceof TypeError || error instanceof RangeError) {
    console.error(`edgeprop: ${(error as Error).message}`);
    process.exitCode = 2;
  } else {
    console.error(`edgeprop: ${(error as Error).message ?? error}`);
    process.exitCode = 1;
  }
}
