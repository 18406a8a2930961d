/**
 * The one error a decoder of wire messages throws: a stable `code` for programs, the `field` that
 * is wrong (a dotted path such as `parameters.dense0.W.data` or `model.layers[2].units`) and a
 * message that names the field and quotes the value. Workers turn it into a 400 response
 * `{error: {code, message, field}}`; the coordinator catches it when a reply does not parse.
 */
import { ValidationError } from "../validation-error.ts";

export type WireErrorCode =
  /** The bytes are not MessagePack, or not a map at the top level. */
  | "invalid_body"
  /** `protocol` is missing or names a version this side does not speak. */
  | "unsupported_protocol"
  /** A field has the wrong type, shape or value, or is unknown. */
  | "invalid_field"
  /** A field is well formed but over one of the worker's limits. */
  | "limit_exceeded";

/** A ValidationError of a wire message: workers answer it with a 400 like any other. */
export class WireError extends ValidationError {
  override name = "WireError";
  declare readonly code: WireErrorCode;

  constructor(code: WireErrorCode, message: string, field?: string) {
    super(field, message, code);
  }
}

/** A short description of a value for error messages: quotes small values, never prints a large one. */
export function describeValue(value: unknown): string {
  if (value === undefined) return "missing";
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name} of ${(value as unknown as ArrayLike<number>).length}`;
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value);
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === "object" && value !== null) return "a map";
  return String(value);
}
