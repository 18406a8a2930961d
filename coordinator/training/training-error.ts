/** Consecutive non-finite steps after which a job fails as diverged. */
export const MAX_CONSECUTIVE_SKIPS = 5;

/** A job that cannot go on; the message is shown to the user as the job's error. */
export class TrainingError extends Error {
  override name = "TrainingError";
}

/** The value of a shard outcome, or a TrainingError with the pool's message. */
export function unwrap<T>(outcome: { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: { readonly message: string } }): T {
  if (outcome.ok) return outcome.value;
  throw new TrainingError(outcome.error.message);
}
