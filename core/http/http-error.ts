/**
 * The one error type of the HTTP layers (worker and coordinator) (like Hono's HTTPException): a status
 * and the JSON body `{error: {code, message, field?}}` it becomes in the app's onError handler.
 * 4xx means the request is wrong and retrying it cannot help; 5xx may be retried elsewhere.
 */
export class HttpError extends Error {
  override name = "HttpError";
  readonly status: number;
  readonly code: string;
  readonly field: string | undefined;
  /** Extra response headers (e.g. `allow` for a 405, `retry-after` for a 503). */
  readonly headers: Record<string, string>;

  constructor(status: number, code: string, message: string, options: { field?: string; headers?: Record<string, string> } = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = options.field;
    this.headers = options.headers ?? {};
  }

  /** The JSON body of the response. */
  body(): { error: { code: string; message: string; field?: string } } {
    return { error: { code: this.code, message: this.message, ...(this.field === undefined ? {} : { field: this.field }) } };
  }
}
