/**
 * Paths into a job spec, as written in a search space: dot-separated keys with array indices in
 * brackets, e.g. "optimizer.learningRate" or "model.layers[0].units".
 */
import { isRecord, show } from "../validate.ts";
import { ValidationError } from "../validation-error.ts";

/** One step of a path: an object key or an array index. */
export type PathSegment = string | number;

export interface SetPathOptions {
  /**
   * Allow the last key of the path to be missing on an existing object (it is created). Default
   * false: the whole path must exist, so a misspelt path is an error. Array indices must exist
   * either way.
   */
  readonly create?: boolean;
}

/** Keys that would reach an object's prototype: refused, since paths come from HTTP requests. */
const FORBIDDEN = new Set(["__proto__", "prototype", "constructor"]);

const SEGMENT = /\.([^.[\]]+)|\[(0|[1-9][0-9]*)\]/y;
const FIRST = /[^.[\]]+/y;

/**
 * Splits a path into segments: `key(.key | [index])*`, where a key is any run of characters other
 * than `.`, `[` and `]`, and an index is a decimal integer without leading zeros. "a.b[0][2].c" →
 * ["a", "b", 0, 2, "c"]. Throws a ValidationError for a non-string, and naming the path for a
 * malformed one or one using `__proto__`, `prototype` or `constructor`.
 */
export function parsePath(path: string, what = "Cannot parse path"): PathSegment[] {
  if (typeof path !== "string") {
    throw new ValidationError(undefined, `${what}: a path must be a string, current value is ${show(path)}`);
  }
  const fail = (why: string): never => {
    throw new ValidationError(path, `${what}: '${path}' is not a valid path (${why})`);
  };
  FIRST.lastIndex = 0;
  const first = FIRST.exec(path);
  if (first === null) fail("it must start with a key");
  const segments: PathSegment[] = [first![0]];
  let at = FIRST.lastIndex;
  while (at < path.length) {
    SEGMENT.lastIndex = at;
    const match = SEGMENT.exec(path);
    if (match === null) fail(`unexpected ${JSON.stringify(path[at])} at offset ${at}`);
    const [, key, index] = match!;
    if (key !== undefined) segments.push(key);
    else {
      const n = Number(index);
      if (!Number.isSafeInteger(n)) fail(`index ${index} is too large`);
      segments.push(n);
    }
    at = SEGMENT.lastIndex;
  }
  for (const s of segments) {
    if (typeof s === "string" && FORBIDDEN.has(s)) fail(`the key '${s}' is not allowed`);
  }
  return segments;
}

/** The path text of the first `count` segments. */
function prefix(segments: readonly PathSegment[], count: number): string {
  let out = "";
  for (let i = 0; i < count; i++) {
    const s = segments[i];
    out += typeof s === "number" ? `[${s}]` : i === 0 ? s : `.${s}`;
  }
  return out;
}

/**
 * The container that holds the last segment, after checking that every step exists. `allowMissingLast`
 * lets the last key be absent from its (existing) object.
 */
function walk(
  root: unknown,
  segments: readonly PathSegment[],
  what: string,
  allowMissingLast: boolean,
): Record<string, unknown> | unknown[] {
  let current: unknown = root;
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i];
    const here = prefix(segments, i) || "the root";
    if (typeof s === "number") {
      if (!Array.isArray(current)) {
        throw new ValidationError(here, `${what}: '${here}' must be an array to take [${s}], current value is ${show(current)}`);
      }
      if (s >= current.length) {
        throw new ValidationError(
          prefix(segments, i + 1),
          `${what}: '${prefix(segments, i + 1)}' does not exist ('${here}' has ${current.length} elements)`,
        );
      }
    } else {
      if (!isRecord(current)) {
        throw new ValidationError(here, `${what}: '${here}' must be an object to take '${s}', current value is ${show(current)}`);
      }
      if (!Object.hasOwn(current, s) && !(allowMissingLast && i === segments.length - 1)) {
        throw new ValidationError(prefix(segments, i + 1), `${what}: '${prefix(segments, i + 1)}' does not exist`);
      }
    }
    if (i === segments.length - 1) return current as Record<string, unknown> | unknown[];
    current = (current as Record<string, unknown>)[s as string];
  }
  throw new RangeError(`${what}: empty path`);
}

/**
 * The value at `path` in `obj` (not copied). Throws a ValidationError naming the path when a key
 * or an index does not exist, or when a step meets a value that is not an object (for a key) or an
 * array (for an index).
 */
export function getPath(obj: unknown, path: string): unknown {
  const what = `Cannot get '${path}'`;
  const segments = parsePath(path, what);
  const container = walk(obj, segments, what, false);
  return (container as Record<string, unknown>)[segments[segments.length - 1] as string];
}

/**
 * A deep copy (`structuredClone`) of `obj` with the value at `path` replaced by a copy of `value`;
 * `obj` is not changed. The path must exist (errors as in {@link getPath}) unless `create` allows
 * its last key to be new.
 */
export function setPath<T>(obj: T, path: string, value: unknown, options: SetPathOptions = {}): T {
  return applyValues(obj, { [path]: value }, options);
}

/**
 * A deep copy of `base` (e.g. a study's base job spec) with every `path → value` of `values` set,
 * in the record's order: the job spec of one trial. Errors name the path (see {@link setPath}).
 */
export function applyValues<T>(base: T, values: Readonly<Record<string, unknown>>, options: SetPathOptions = {}): T {
  const copy = structuredClone(base);
  for (const [path, value] of Object.entries(values)) {
    const what = `Cannot set '${path}'`;
    const segments = parsePath(path, what);
    const container = walk(copy, segments, what, options.create === true);
    const last = segments[segments.length - 1];
    (container as Record<string, unknown>)[last as string] = structuredClone(value);
  }
  return copy;
}
