// The edge-function conformance suite against a real node worker process on a free loopback port
// (tests/helpers/worker-process.ts starts it, waits for its health and stops it in afterAll).
import { startWorker } from "../helpers/worker-process.ts";
import { edgeFunctionConformance } from "./conformance.ts";

edgeFunctionConformance("node", { start: (secret) => startWorker("node", { secret }) });
