/** Reads a JSON file the user named; a missing file or bad JSON is a usage error (exit 2) naming it. */
import { readFile } from "node:fs/promises";
import { UsageError } from "./usage-error.ts";

export async function readJsonFile(file: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new UsageError(`cannot read ${what} '${file}': ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${what} '${file}' is not valid JSON: ${(error as Error).message}`);
  }
}
