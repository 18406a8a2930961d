/** The SDK client the CLI commands use: `--coordinator URL` (or EDGEPROP_COORDINATOR), token from EDGEPROP_API_TOKEN. */
import { Option } from "commander";
import { EdgepropClient } from "../sdk/mod.ts";
import { UsageError } from "./usage-error.ts";

export const DEFAULT_COORDINATOR = "http://127.0.0.1:8080";

export function coordinatorOption(): Option {
  return new Option("--coordinator <url>", "coordinator URL").env("EDGEPROP_COORDINATOR").default(DEFAULT_COORDINATOR);
}

/** The client of `--coordinator URL`; a URL that is not http(s) is a usage error, not an unreachable coordinator. */
export function clientFor(url: string): EdgepropClient {
  let parsed: URL | null = null;
  try {
    parsed = new URL(url);
  } catch {
    // reported below
  }
  if (parsed === null || (parsed.protocol !== "http:" && parsed.protocol !== "https:")) {
    throw new UsageError(`--coordinator must be an http:// or https:// URL such as ${DEFAULT_COORDINATOR}, current value is ${JSON.stringify(url)}`);
  }
  return new EdgepropClient({ baseUrl: url, token: process.env.EDGEPROP_API_TOKEN || undefined });
}
