import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { edgepropBin, runCommand } from "../helpers/processes.ts";

describe("npx edgeprop gradcheck", () => {
  it("passes a 3-hidden-layer tanh net with batch norm, dropout, L2 and softmax", async () => {
    const out = await runCommand(process.execPath, [edgepropBin, "gradcheck", "docs/examples/gradcheck-tanh-bn-dropout.json"]);
    expect(out.code, out.stderr).toBe(0);
    const ratio = Number(/overall ratio: (\S+)/.exec(out.stdout)![1]);
    expect(ratio).toBeGreaterThan(0);
    expect(ratio).toBeLessThan(1e-5);
    expect(out.stdout).toMatch(/dropout is on/);
    expect(out.stdout).toMatch(/largest discrepancy: \S+\[\d+\]/);
    for (const name of ["dense0.W", "batchnorm1.gamma", "batchnorm5.beta", "dense8.b", "dense10.W"]) expect(out.stdout).toContain(name);
  });

  it("exits 1 when the ratio is above the threshold", async () => {
    const out = await runCommand(process.execPath, [edgepropBin, "gradcheck", "docs/examples/gradcheck-tanh-bn-dropout.json", "--threshold", "1e-12", "--examples", "4"]);
    expect(out.code).toBe(1);
    expect(out.stdout).toMatch(/FAIL: ratio above the threshold 1e-12/);
  });

  it("exits 2 naming an invalid field, a missing file or a missing argument", async () => {
    const dir = await mkdtemp(join(tmpdir(), "edgeprop-"));
    const bad = join(dir, "bad.json");
    await writeFile(bad, JSON.stringify({ model: { input: [4], layers: [{ type: "dense", units: 4 }, { type: "dropout", keepProb: 1.5 }, { type: "dense", units: 3 }], output: "softmax" } }));
    let out = await runCommand(process.execPath, [edgepropBin, "gradcheck", bad]);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/'model.layers\[1\].keepProb' must be in \(0, 1\], current value is 1.5/);
    out = await runCommand(process.execPath, [edgepropBin, "gradcheck", join(dir, "missing.json")]);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/cannot read job spec/);
    out = await runCommand(process.execPath, [edgepropBin, "gradcheck"]);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/missing required argument/);
  });
});
