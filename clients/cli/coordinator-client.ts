/** The SDK client the CLI commands use: `--coordinator URL` (or EDGEPROP_COORDINATOR), token from EDGEPROP_API_TOKEN. */
import { Option } from "commander";
import { EdgepropClient } from "../sdk/mod.ts";

export const DEFAULT_COORDINATOR = "http://127.0.0.1:8080";

export function coordinatorOption(): Option {
  return new Option("--coordinator <url>", "coordinator URL").env("EDGEPROP_COORDINATOR").default(DEFAULT_COORDINATOR);
}

export function clientFor(url: string): EdgepropClient {
  return new EdgepropClient({ baseUrl: url, token: process.env.EDGEPROP_API_TOKEN || undefined });
}
