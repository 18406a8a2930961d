import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseJobSpec } from "../../core/job/spec.ts";
import { demoJob } from "../../clients/cli/commands/demo.ts";
import { repoRoot } from "../helpers/processes.ts";

describe("the job specs shipped in docs/examples and the demo", () => {
  it("are valid", async () => {
    const dir = join(repoRoot, "docs", "examples");
    const files = (await readdir(dir)).filter((f) => f.endsWith(".json"));
    expect(files.length).toBeGreaterThanOrEqual(3);
    for (const file of files) {
      const spec = JSON.parse(await readFile(join(dir, file), "utf8"));
      // The gradient-check example holds only what `edgeprop gradcheck` needs.
      if (spec.dataset === undefined) continue;
      expect(() => parseJobSpec(spec), file).not.toThrow();
    }
    expect(parseJobSpec(demoJob(1)).epochs).toBe(1);
  });
});
