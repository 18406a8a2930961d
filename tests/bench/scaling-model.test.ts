/** The scaling model's pure functions (bench/scaling-model.ts) at limits whose answers are known by hand. */
import { describe, expect, it } from "vitest";
import { epochMs, epochPasses, type PassConstants, passMs, transferMs } from "../../bench/scaling-model.ts";
import { localStepsPerEpoch } from "../../coordinator/training/local-rounds.ts";

const NONE: PassConstants = {
  coordinatorMsPerPass: 0, reduceMsPerRequest: 0, encodeMsPerRequest: 0, decodeMsPerRequest: 0, workerMsPerRequest: 0, computeMsPerExample: 0,
  requestBytes: 0, requestBytesPerExample: 0, replyBytes: 0,
};
const IDEAL = { bitsPerSecond: Infinity, rttMs: 0 };
const SLOW = { bitsPerSecond: 100e6, rttMs: 0 };

describe("scaling model", () => {
  it("with infinite bandwidth and no latency, an epoch is compute/N plus the serial parts", () => {
    const c = { ...NONE, coordinatorMsPerPass: 3, encodeMsPerRequest: 0.5, decodeMsPerRequest: 0.25, workerMsPerRequest: 2, computeMsPerExample: 0.1, requestBytes: 1e6, replyBytes: 1e6 };
    const shape = { mode: "sync", examples: 2560, batchSize: 256, maxShards: 8 } as const;
    for (const n of [1, 2, 4, 8]) {
      // The last request leaves after n encodes, computes 256/n examples, and its reply is decoded last.
      const step = 3 + n * 0.5 + 2 + (0.1 * 256) / n + 0.25;
      expect(epochMs(c, shape, n, IDEAL)).toBeCloseTo(10 * step, 9);
    }
    // More workers than shards: the extra ones idle.
    expect(epochMs(c, shape, 16, IDEAL)).toBeCloseTo(epochMs(c, shape, 8, IDEAL), 9);
  });

  it("doubling the bytes at 100 Mbit/s doubles the transfer time, the link carrying bodies one after another", () => {
    expect(transferMs(1e6, SLOW)).toBeCloseTo(80, 9);
    const at = (bytes: number, workers: number) => passMs({ ...NONE, requestBytes: bytes, replyBytes: bytes }, { examples: Array(workers).fill(0) }, workers, SLOW);
    // One worker: its request up, its reply down.
    expect(at(1e6, 1)).toBeCloseTo(160, 9);
    expect(at(2e6, 1)).toBeCloseTo(320, 9);
    // Two workers: two bodies up in turn; the first reply comes down while the second body goes up.
    expect(at(1e6, 2)).toBeCloseTo(240, 9);
    expect(at(2e6, 2)).toBeCloseTo(480, 9);
    // Bytes per example count with the examples a request carries.
    expect(passMs({ ...NONE, requestBytesPerExample: 1000 }, { examples: [1000] }, 1, SLOW)).toBeCloseTo(80, 9);
  });

  it("every request costs one round trip, in parallel across workers", () => {
    const link = { bitsPerSecond: Infinity, rttMs: 50 };
    expect(passMs(NONE, { examples: [10] }, 1, link)).toBeCloseTo(50, 9);
    expect(passMs(NONE, { examples: [10, 10, 10, 10] }, 4, link)).toBeCloseTo(50, 9);
    // Four requests on one worker with two in flight: the third waits for the first reply.
    expect(passMs(NONE, { examples: [10, 10, 10, 10] }, 1, link)).toBeCloseTo(100, 9);
  });

  it("K replicas on fewer workers queue on them; on K workers they compute side by side", () => {
    const c = { ...NONE, coordinatorMsPerPass: 1, workerMsPerRequest: 2, computeMsPerExample: 0.01 };
    const round = { examples: [512, 512, 512, 512] };
    expect(passMs(c, round, 1, IDEAL)).toBeCloseTo(1 + 4 * (2 + 5.12), 9);
    expect(passMs(c, round, 2, IDEAL)).toBeCloseTo(1 + 2 * (2 + 5.12), 9);
    expect(passMs(c, round, 4, IDEAL)).toBeCloseTo(1 + 2 + 5.12, 9);
  });

  it("reduces local rounds' replies once all are in, sync replies as they come", () => {
    const c = { ...NONE, reduceMsPerRequest: 1, workerMsPerRequest: 10 };
    // Sync: three replies ready at 10 ms, summed one after another.
    expect(passMs(c, { examples: [1, 1, 1] }, 3, IDEAL)).toBeCloseTo(13, 9);
    // Two workers: the first two replies are summed while the third request computes.
    expect(passMs(c, { examples: [1, 1, 1] }, 2, IDEAL)).toBeCloseTo(21, 9);
    expect(passMs(c, { examples: [1, 1, 1], reduceAfterLast: true }, 2, IDEAL)).toBeCloseTo(23, 9);
  });

  it("cuts an epoch into the passes the trainer makes", () => {
    const local = epochPasses({ mode: "local", examples: 6000, batchSize: 256, replicas: 4, innerSteps: 8 }, 2);
    expect(localStepsPerEpoch(6000, 256, 4)).toBe(24);
    expect(local.every((p) => p.reduceAfterLast)).toBe(true);
    expect(local.map((p) => p.examples)).toEqual([[512, 512, 512, 512], [512, 512, 512, 512], [476, 476, 476, 476]]);
    const sync = epochPasses({ mode: "sync", examples: 600, batchSize: 256, maxShards: 8 }, 3);
    expect(sync.map((p) => p.examples)).toEqual([[85, 85, 86], [85, 85, 86], [29, 29, 30]]);
    // A last batch of fewer rows than replicas is left out in local mode, as local-rounds.ts does.
    expect(epochPasses({ mode: "local", examples: 514, batchSize: 256, replicas: 4, innerSteps: 1 }, 1)).toHaveLength(2);
  });
});
