// Import specifiers rewritten in place, for the npm (packages.mjs) and JSR (jsr.mjs) package builds.
import ts from "typescript";

/** Rewrites each import specifier of `text` (TypeScript's own scanner finds them, strings are left alone). */
export function rewriteImports(text, rewrite) {
  let out = "";
  let at = 0;
  for (const { fileName, pos } of ts.preProcessFile(text, true, true).importedFiles) {
    const start = text.indexOf(fileName, pos); // pos is at the opening quote
    out += text.slice(at, start) + rewrite(fileName);
    at = start + fileName.length;
  }
  return out + text.slice(at);
}
