/**
 * The one error a validator of client input throws (job and study specs, dataset uploads, wire
 * messages): the `field` that is wrong, as a path such as `model.layers[2].units` or
 * `schedule.rates`, and a message that names it and quotes the value. Its type is what an HTTP
 * layer maps to 400 `{error: {code, message, field}}`; any other error is a failure of the server
 * (500), never blamed on the client. `code` is `invalid_field` unless a subclass or the thrower
 * says otherwise (`limit_exceeded` for a value over a documented limit).
 */
export class ValidationError extends Error {
  override name = "ValidationError";
  /** The wrong field; undefined only when the whole body is wrong (not a map, not decodable). */
  readonly field: string | undefined;
  readonly code: string;

  constructor(field: string | undefined, message: string, code = "invalid_field") {
    super(message);
    this.field = field;
    this.code = code;
  }
}
