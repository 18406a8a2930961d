/** Rewrites one `## name` section of bench/RESULTS.md, keeping the others. */
import { readFileSync, writeFileSync } from "node:fs";

export function writeSection(name: string, lines: readonly string[]): void {
  const path = new URL("./RESULTS.md", import.meta.url);
  let text = "";
  try {
    text = readFileSync(path, "utf8");
  } catch {
    text = "# Benchmark results\n\nProduced by `npm run bench`; each section is rewritten by its benchmark.\n";
  }
  const section = [`## ${name}`, "", ...lines, ""].join("\n");
  const start = text.indexOf(`## ${name}\n`);
  if (start < 0) text = `${text.trimEnd()}\n\n${section}`;
  else {
    const next = text.indexOf("\n## ", start + 1);
    text = text.slice(0, start) + section + (next < 0 ? "" : text.slice(next + 1));
  }
  writeFileSync(path, text);
}
