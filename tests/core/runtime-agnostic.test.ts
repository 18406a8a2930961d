import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../helpers/processes.ts";

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== "bundle") out.push(...(await sources(path)));
    } else if (entry.name.endsWith(".ts")) {
      out.push(path);
    }
  }
  return out;
}

describe("core/ is runtime-agnostic", () => {
  it("uses no Deno, Node or Cloudflare globals and does no I/O", async () => {
    const forbidden = [/\bDeno\./, /from\s+["']node:/, /\bprocess\./, /\bBuffer\b/, /\brequire\(/, /\bfetch\(/, /\bcaches\.default\b/, /__dirname/];
    const offences: string[] = [];
    const files = await sources(join(repoRoot, "core"));
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) {
      const text = (await readFile(file, "utf8")).replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "");
      for (const pattern of forbidden) if (pattern.test(text)) offences.push(`${file}: ${pattern}`);
    }
    expect(offences).toEqual([]);
  });
});
