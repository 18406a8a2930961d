/**
 * How many epochs of a job (of its current ensemble member) are done, as people count them:
 * `progress.epoch` is the 0-based epoch in progress, and an epoch is done once its last step is
 * (a finished 8-epoch job has done 8, not "7 of 8").
 */
import type { Progress } from "./api.ts";

export function epochsDone(progress: Progress): number {
  return progress.epoch + (progress.steps > 0 && progress.step >= progress.steps ? 1 : 0);
}
