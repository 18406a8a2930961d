// The edge-function conformance suite against a real deno worker process on a free loopback port
// (tests/helpers/worker-process.ts starts it, waits for its health and stops it in afterAll).
import { startWorker } from "../helpers/worker-process.ts";
import { edgeFunctionConformance } from "./conformance.ts";

edgeFunctionConformance("deno", { start: (secret) => startWorker("deno", { secret }) });
