#!/usr/bin/env node
// The `edgeprop` command. In the repository the CLI is TypeScript beside this file, which Node 20
// cannot run itself, so tsx compiles it on load; the npm package carries it compiled (dist/) instead.
import { existsSync } from "node:fs";

if (existsSync(new URL("./main.ts", import.meta.url))) {
  const { register } = await import("tsx/esm/api");
  register();
  await import("./main.ts");
} else {
  await import("../../dist/clients/cli/main.js");
}
