/**
 * What a terminal user trips over before any job runs, with real CLI processes: `--version`, a
 * malformed `--coordinator` URL (a usage error, not "is it running?"), `cluster up` on a port in
 * use (one line naming the port, at once), and a verdict's negative gap said in words.
 */
import { once } from "node:events";
import { readFile } from "node:fs/promises";
import { createServer } from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { explainGaps } from "../../core/diagnosis.ts";
import { edgepropBin, repoRoot, runCommand } from "../helpers/processes.ts";

const cli = (args: string[], timeoutMs = 60_000) => runCommand(process.execPath, [edgepropBin, ...args], { timeoutMs });

describe("the edgeprop CLI's small things", () => {
  it("prints its version", async () => {
    const { version } = JSON.parse(await readFile(join(repoRoot, "package.json"), "utf8")) as { version: string };
    for (const flag of ["--version", "-V"]) {
      const result = await cli([flag]);
      expect(result.code).toBe(0);
      expect(result.stdout.trim()).toBe(version);
    }
  });

  it("calls a malformed --coordinator URL a usage error (exit 2), naming it", async () => {
    for (const bad of ["127.0.0.1:8080x", "ftp://example.com", "not a url"]) {
      const result = await cli(["jobs", "--coordinator", bad]);
      expect(result.code, bad).toBe(2);
      expect(result.stderr.trim()).toBe(`edgeprop: --coordinator must be an http:// or https:// URL such as http://127.0.0.1:8080, current value is ${JSON.stringify(bad)}`);
    }
  });

  it("says that the port is in use when `cluster up` cannot listen, and exits 1 at once", async () => {
    const server = createServer().listen(0, "127.0.0.1");
    await once(server, "listening");
    const port = (server.address() as { port: number }).port;
    const dir = await mkdtemp(join(tmpdir(), "edgeprop-port-"));
    try {
      const started = Date.now();
      const result = await cli(["cluster", "up", "--workers", "1", "--runtime", "node", "--port", String(port), "--data-dir", dir], 50_000);
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr).toContain(`cannot listen on http://127.0.0.1:${port}: the port is in use`);
      expect(result.stderr).not.toMatch(/\bat .*:\d+:\d+\)/); // no stack fragments
      expect(Date.now() - started).toBeLessThan(40_000); // not the 60 s wait for a "listening" line
    } finally {
      server.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it("says what a negative gap of the bias/variance verdict means instead of printing it", () => {
    expect(explainGaps({ avoidableBias: 0.012, variance: 0.034 })).toBe("avoidable bias 1.20%; variance 3.40%");
    expect(explainGaps({ avoidableBias: 0.01, variance: -0.005 })).toBe("avoidable bias 1.00%; variance none: dev error is 0.50% below train error");
    expect(explainGaps({ avoidableBias: -0.02, variance: 0 })).toBe("avoidable bias none: train error is 2.00% below the human-level estimate; variance 0.00%");
  });
});
