// The edge-function conformance suite against a real workerd worker process on a free loopback port
// (tests/helpers/worker-process.ts starts it, waits for its health and stops it in afterAll).
// `node deploy/cloudflare/serve.mjs` rebuilds the Cloudflare bundle first, so the current sources
// are tested, and runs it in workerd through the pinned miniflare.
import { startWorker } from "../helpers/worker-process.ts";
import { edgeFunctionConformance } from "./conformance.ts";

edgeFunctionConformance("workerd", { start: (secret) => startWorker("workerd", { secret }) });
