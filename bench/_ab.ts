import { HttpPool } from "../coordinator/pool/http-pool.ts";
import { initParameters } from "../core/model/parameters.ts";
import { parseModelSpec, planModel } from "../core/model/spec.ts";
import { gradientsRequest } from "../tests/helpers/wire-fixtures.ts";
import { startWorker } from "../tests/helpers/worker-process.ts";
import { median, REFERENCE_MLP, referenceBatch } from "./reference.ts";
const SECRET = "bench-secret-0123456789abcdef";
const plan = planModel(parseModelSpec(REFERENCE_MLP));
const params = initParameters(plan, 42);
const batch = referenceBatch(256, 7, 5000);
const message = gradientsRequest(plan, REFERENCE_MLP, params, batch, { chunkSize: 32, step: 3, seed: 42, firstChunk: 0, totalChunks: 8 });
const runtime = (process.argv[2] ?? "deno") as "deno";
const N = Number(process.argv[3] ?? 80);
const A = await startWorker(runtime, { secret: SECRET, env: { AB: "1" } });
const B = await startWorker(runtime, { secret: SECRET });
const pools = [new HttpPool([A.url], { secret: SECRET }), new HttpPool([B.url], { secret: SECRET })];
await Promise.all(pools.map((p) => p.start()));
const signal = new AbortController().signal;
const add: number[][] = [[], []];
const parts: Record<string, number[]>[] = [{}, {}];
for (let i = 0; i < N; i++) {
  for (const j of i % 2 ? [0, 1] : [1, 0]) {
    (globalThis as any).gc?.({ type: "minor" });
    const t0 = performance.now();
    const o = await pools[j].gradients(message, signal);
    const t = performance.now() - t0;
    if (!o.ok) throw new Error(o.error.message);
    if (i < 8) continue;
    add[j].push(t - o.timing!.worker!.computeMs);
    for (const [k, v] of Object.entries(o.timing!.worker!)) (parts[j][k] ??= []).push(v as number);
  }
}
const diff = add[0].map((a, i) => a - add[1][i]);
for (const j of [0, 1]) console.log(runtime, j ? "B(base)" : "A(variant)", "added", median(add[j]).toFixed(2), Object.entries(parts[j]).filter(([k]) => k !== "computeMs" && k !== "queueMs").map(([k, v]) => `${k} ${median(v).toFixed(2)}`).join(" "));
console.log("paired diff A-B median", median(diff).toFixed(2));
await Promise.all([A.stop(), B.stop()]);
