/** A mistake in how the CLI was called (exit code 2), as opposed to a failure of the work itself. */
export class UsageError extends Error {
  override name = "UsageError";
}
