/**
 * What a job's training costs on the coordinator's link (DESIGN.md, `communication`): the traffic
 * every training pass reports (sync steps and local-mode rounds; evaluation passes are left out)
 * and the examples those passes carried. The trainer counts through `countingPool`, so every way
 * of training that runs its passes on the pool it is given is counted without knowing of it; the
 * count rides in the checkpoint, so it spans the job's life across restarts.
 */
import type { JobCommunication } from "../../core/job/api.ts";
import type { PassResult, PassTraffic, WorkerPool } from "../pool/worker-pool.ts";

/** The running count: the traffic of the training passes so far and the examples they trained. */
export interface CommunicationCount extends PassTraffic {
  readonly examples: number;
}

export const NO_COMMUNICATION: CommunicationCount = { requests: 0, bytesSent: 0, bytesReceived: 0, examples: 0 };

/** `count` after one more pass of `examples` examples. */
export function addPass(count: CommunicationCount, traffic: PassTraffic, examples: number): CommunicationCount {
  return {
    requests: count.requests + traffic.requests,
    bytesSent: count.bytesSent + traffic.bytesSent,
    bytesReceived: count.bytesReceived + traffic.bytesReceived,
    examples: count.examples + examples,
  };
}

/** The count as a job record shows it: bytes per example over every example trained so far (null before the first). */
export function communicationView(count: CommunicationCount): JobCommunication {
  const { requests, bytesSent, bytesReceived, examples } = count;
  return { requests, bytesSent, bytesReceived, bytesPerExample: examples > 0 ? (bytesSent + bytesReceived) / examples : null };
}

/**
 * `pool` with its training passes counted: after each step or round pass, `onPass` gets the pass's
 * traffic and the examples its shards carried (a round shard carries every inner step's rows of its replica).
 */
export function countingPool(pool: WorkerPool, onPass: (traffic: PassTraffic, examples: number) => void): WorkerPool {
  const counted = <T>(shards: readonly { readonly indices: { readonly shape: readonly number[] } }[]) => (pass: PassResult<T>) => {
    onPass(pass.traffic, shards.reduce((sum, shard) => sum + shard.indices.shape[0], 0));
    return pass;
  };
  return {
    capacity: () => pool.capacity(),
    status: () => pool.status(),
    runStep: (task, options) => pool.runStep(task, options).then(counted(task.shards)),
    runRound: (task, options) => pool.runRound(task, options).then(counted(task.shards)),
    runEvaluation: (task, options) => pool.runEvaluation(task, options),
    forJob: (policy) => countingPool(pool.forJob(policy), onPass),
  };
}
