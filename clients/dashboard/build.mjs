#!/usr/bin/env node
// Bundles the dashboard page (src/main.ts with uPlot, the SDK and core/ewa.ts; src/styles.css with
// uPlot's stylesheet) into dist/app.js and dist/styles.css, which coordinator/dashboard.ts serves.
// Runs from `npm install` (postinstall) and before `npm test`, like the tfjs bundle; idempotent,
// well under a second. The page loads nothing from the network but its own coordinator.
import { build } from "esbuild";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

await build({
  entryPoints: { app: join(here, "src", "main.ts"), styles: join(here, "src", "styles.css") },
  outdir: join(here, "dist"),
  bundle: true,
  format: "esm",
  platform: "browser",
  // Chromium, Firefox and Safari of the last few years; esbuild lowers nothing the page needs.
  target: ["es2022"],
  minify: true,
  sourcemap: "linked",
  legalComments: "eof",
  logLevel: "warning",
});
