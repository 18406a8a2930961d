import { defineConfig } from "vitest/config";

export default defineConfig({
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
