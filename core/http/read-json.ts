/**
 * Reads a JSON request body. `Content-Type: application/json` is required (415 otherwise, before
 * any byte is read): a web page can send a cross-site "simple" POST without asking the server
 * first only as text/plain, form-encoded or multipart, so a JSON endpoint that accepted those
 * would let any page a user visits submit jobs to a coordinator without an API token.
 */
import { HttpError } from "./http-error.ts";
import { readBody } from "./read-body.ts";

/** The parsed body. Throws HttpError 415 (wrong Content-Type), 413 (over `maxBytes`), 400 (not JSON). */
export async function readJson(request: Request, maxBytes: number): Promise<unknown> {
  const header = request.headers.get("content-type");
  const type = (header ?? "").split(";")[0].trim().toLowerCase();
  if (type !== "application/json") {
    throw new HttpError(
      415,
      "unsupported_media_type",
      `Content-Type must be application/json, current value is ${header === null ? "missing" : JSON.stringify(header.slice(0, 100))}`,
    );
  }
  const bytes = await readBody(request, maxBytes);
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new HttpError(400, "invalid_json", `The body is not valid JSON: ${(error as Error).message}`);
  }
}
