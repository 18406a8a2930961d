// One signed request, byte for byte the same (body and headers), sent to a real Node, Deno and
// workerd worker at once: all three must return the same gradients (1e-6 relative; in practice
// they are bitwise equal, as they run the same wasm binary).
import { afterAll, beforeAll, expect, it } from "vitest";
import { startWorker, type WorkerProcess } from "../helpers/worker-process.ts";
import { CONFORMANCE_SECRET, gradientSetDiff, sameSignedRequest } from "./conformance.ts";

const runtimes = ["node", "deno", "workerd"] as const;
let workers: WorkerProcess[] = [];

beforeAll(async () => {
  const started = await Promise.allSettled(runtimes.map((r) => startWorker(r, { secret: CONFORMANCE_SECRET })));
  workers = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  const failed = started.find((s) => s.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
}, 120_000);

afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
}, 30_000);

it("the same signed request gives the same gradients on Node, Deno and workerd", async () => {
  const [node, deno, workerd] = await sameSignedRequest(workers.map((w) => w.url));
  const diffs = { "deno vs node": gradientSetDiff(deno, node), "workerd vs node": gradientSetDiff(workerd, node), "workerd vs deno": gradientSetDiff(workerd, deno) };
  console.info(`cross-runtime max relative gradient differences: ${JSON.stringify(diffs)}`);
  for (const [pair, diff] of Object.entries(diffs)) expect(diff, pair).toBeLessThanOrEqual(1e-6);
});
