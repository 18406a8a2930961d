/**
 * The limits a worker enforces: DEFAULT_WORKER_LIMITS (core/limits.ts) with overrides, each checked
 * up front so that a typo in a deployment fails at start, not at the first request.
 */
import { DEFAULT_WORKER_LIMITS, type WorkerLimits } from "../core/limits.ts";

/**
 * Defaults of the workerd build (edge-functions/entry/workerd.ts), which keep one request inside
 * a Cloudflare isolate's 128 MB. From bench/worker-memory.ts (RESULTS.md "worker-memory"): the
 * isolate's peak is about a + b·P + c·A + d·G with a ≈ 22 MiB (bundle, tfjs, first wasm heap),
 * b ≈ 52 bytes per parameter (body, decoded copy, wasm tensors, gradient read-back, reply),
 * c ≈ 28 bytes per activation and d ≈ 7.6 bytes per per-chunk gradient value. At these limits
 * that is 22 + 25 + 27 + 15 ≈ 88 MiB, 28% under 128 MB (122 MiB) for the fit's error (its worst
 * residual was 10 MiB: the wasm heap grows in steps); tests/runtimes/workerd-memory.test.ts
 * measures 80 MiB. The wasm heap never shrinks, so a second
 * request in flight would add its own copies on top of the first's high-water mark: one at a time.
 * Bindings (EDGEPROP_MAX_*) still override each of them.
 */
export const WORKERD_LIMITS: Partial<WorkerLimits> = {
  maxParameters: 500_000,
  maxActivations: 1_000_000,
  maxChunkGradients: 2_000_000,
  maxExamples: 4096,
  // 4 bytes per parameter and per input feature, with room for labels, indices and the message.
  maxBodyBytes: 8 * 1024 * 1024,
  maxInFlight: 1,
  // About 2 s of compute for the reference MLP (~0.1 ms per example, RESULTS.md): well inside
  // a Worker's CPU time per request; the body limit usually binds first for MNIST-sized inputs.
  maxRoundExamples: 16_384,
};

export function resolveLimits(overrides: Partial<WorkerLimits> = {}): WorkerLimits {
  const limits: Record<string, number> = { ...DEFAULT_WORKER_LIMITS };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    if (!(key in DEFAULT_WORKER_LIMITS)) {
      throw new TypeError(`Cannot configure worker: 'limits.${key}' is not a known limit (expected one of ${Object.keys(DEFAULT_WORKER_LIMITS).join(", ")})`);
    }
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`Cannot configure worker: 'limits.${key}' must be a positive integer, current value is ${String(value)}`);
    }
    limits[key] = value;
  }
  return limits as unknown as WorkerLimits;
}
