/**
 * `train spec.json --set epochs=20 --set optimizer.learningRate=3e-3`: changes to the spec at
 * paths as study spaces write them (core/search/path.ts). A value is JSON when it parses as JSON
 * (numbers, booleans, objects), else a string. The result is validated as the coordinator would,
 * so a wrong path or value is a usage error naming it before anything is submitted.
 */
import { parseJobSpec } from "../../core/job/spec.ts";
import { setPath } from "../../core/search/path.ts";
import { ValidationError } from "../../core/validation-error.ts";
import { UsageError } from "./usage-error.ts";

/** Commander's collector of a repeated `--set`. */
export function collect(value: string, previous: readonly string[]): string[] {
  return [...previous, value];
}

function parseValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The spec with every `path=value` of `assignments` set, in order; throws UsageError naming the one that is wrong. */
export function applyOverrides(spec: unknown, assignments: readonly string[]): unknown {
  if (assignments.length === 0) return spec;
  let out = spec;
  const paths: string[] = [];
  for (const assignment of assignments) {
    const eq = assignment.indexOf("=");
    if (eq <= 0) throw new UsageError(`--set takes path=value (e.g. --set epochs=20), current value is ${JSON.stringify(assignment)}`);
    const path = assignment.slice(0, eq);
    try {
      out = setPath(out, path, parseValue(assignment.slice(eq + 1)), { create: true });
    } catch (error) {
      if (error instanceof ValidationError) throw new UsageError(`--set ${assignment}: ${error.message}`);
      throw error;
    }
    paths.push(path);
  }
  try {
    parseJobSpec(out);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    const culprit = assignments.find((_, i) => error.field !== undefined && (error.field === paths[i] || error.field.startsWith(`${paths[i]}.`) || paths[i].startsWith(`${error.field}.`)));
    throw new UsageError(culprit ? `--set ${culprit}: ${error.message}` : error.message);
  }
  return out;
}
