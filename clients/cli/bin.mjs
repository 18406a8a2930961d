#!/usr/bin/env node
// The `edgeprop` command. Node 20 cannot run TypeScript itself, so tsx compiles the CLI on load.
import { register } from "tsx/esm/api";

register();
await import("./main.ts");
