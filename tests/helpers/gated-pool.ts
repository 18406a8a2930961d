/** An in-process pool whose steps wait on a gate: a test keeps a job running, or starts it, when it is ready. */
import { InProcessPool } from "../../coordinator/pool/in-process-pool.ts";
import type { WorkerPool } from "../../coordinator/pool/worker-pool.ts";

/** Each `runStep` (numbered from 0) first awaits `gate(step)`; everything else is the in-process pool's. */
export function gatedPool(gate: (step: number) => Promise<void> | void): WorkerPool {
  const inner = new InProcessPool();
  let steps = 0;
  const pool: WorkerPool = {
    capacity: () => inner.capacity(),
    status: () => inner.status(),
    forJob: () => pool,
    runEvaluation: (task, options) => inner.runEvaluation(task, options),
    runRound: (task, options) => inner.runRound(task, options),
    runStep: async (task, options) => {
      await gate(steps++);
      return inner.runStep(task, options);
    },
  };
  return pool;
}
