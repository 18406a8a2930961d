import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { defineConfig } from "vitest/config";

// Vite would transform each 2 MB MNIST JSON file (15–20 s per load); hand it over as a string to
// JSON.parse instead, as Node and Deno load it (about 1 s).
const mnistJson = {
  name: "edgeprop:mnist-json",
  enforce: "pre" as const,
  resolveId(source: string) {
    const m = /^mnist\/src\/digits\/(\d)\.json$/.exec(source);
    return m ? `\0mnist-digit:${m[1]}` : null;
  },
  load(id: string) {
    const m = /^\0mnist-digit:(\d)$/.exec(id);
    if (!m) return null;
    const text = readFileSync(createRequire(import.meta.url).resolve(`mnist/src/digits/${m[1]}.json`), "utf8");
    return { code: `export default JSON.parse(${JSON.stringify(text)});`, map: { mappings: "" } };
  },
};

export default defineConfig({
  plugins: [mnistJson],
  test: {
    include: ["tests/**/*.test.ts"],
    exclude: ["tests/runtimes/deno/**", "node_modules/**"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    server: {
      deps: {
        // The tfjs bundle is plain ESM made for Node: load it as is, as Node and Deno do.
        external: [/core\/tfjs\/bundle\//],
      },
    },
  },
});
