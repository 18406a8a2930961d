/**
 * Following a job from the terminal (`train --watch`, `watch`, `continue --watch`): the progress
 * display (or JSON lines) until the job ends, then its report. Ctrl-C stops following, not the
 * job: the bar is stopped (the cursor shown again) and the user is told that the job goes on,
 * with the commands to follow or cancel it; with `cancelOnInterrupt` the job is cancelled instead.
 * Exit code 0 when the job succeeded, 1 when it did not, 130 when interrupted.
 */
import type { EdgepropClient } from "../sdk/mod.ts";
import { DEFAULT_COORDINATOR } from "./coordinator-client.ts";
import { finalReport, ProgressDisplay } from "./progress.ts";

export interface FollowOptions {
  readonly json: boolean;
  readonly batchSize: number;
  /**
   * Handle Ctrl-C: `coordinator` is the `--coordinator` URL, repeated in the commands printed;
   * `cancel` cancels the job instead. Absent: Ctrl-C is left to the caller (the demo stops its cluster).
   */
  readonly interrupt?: { readonly coordinator: string; readonly cancel: boolean };
}

const INTERRUPTED = 130;

export async function follow(client: EdgepropClient, id: string, options: FollowOptions): Promise<number> {
  const display = options.json ? null : new ProgressDisplay({ batchSize: options.batchSize });
  const controller = new AbortController();
  const onInterrupt = () => controller.abort();
  if (options.interrupt) process.once("SIGINT", onInterrupt);
  try {
    for await (const event of client.watch(id, { signal: controller.signal })) {
      if (options.json) process.stdout.write(JSON.stringify({ event: event.type, id: event.id, data: event.data }) + "\n");
      else display!.handle(event);
    }
  } catch (error) {
    if (!controller.signal.aborted) throw error;
  } finally {
    process.off("SIGINT", onInterrupt);
    display?.stop();
  }
  if (controller.signal.aborted) return interrupted(client, id, options.interrupt!);
  const job = await client.getJob(id);
  if (!options.json) for (const line of finalReport(job)) console.log(line);
  return job.status === "succeeded" ? 0 : 1;
}

async function interrupted(client: EdgepropClient, id: string, options: NonNullable<FollowOptions["interrupt"]>): Promise<number> {
  const where = options.coordinator === DEFAULT_COORDINATOR ? "" : ` --coordinator ${options.coordinator}`;
  if (options.cancel) {
    const result = await client.cancelJob(id);
    console.error(`\nedgeprop: interrupted; job ${id} is ${result.status} (its last checkpoint stays: \`npx edgeprop continue ${id} --epochs N${where}\` trains it further)`);
    return INTERRUPTED;
  }
  console.error(
    [
      `\nedgeprop: stopped following job ${id}; the job goes on running on the coordinator.`,
      `  follow it again: npx edgeprop watch ${id}${where}`,
      `  cancel it:       npx edgeprop cancel ${id}${where}`,
    ].join("\n"),
  );
  return INTERRUPTED;
}
