/**
 * Size limits that protect workers and the coordinator from requests that would exhaust memory.
 * Defaults as documented in DESIGN.md; every function that enforces one takes an override.
 */
export interface ModelLimits {
  /** Most units in one dense or batch-norm layer. */
  readonly maxUnits: number;
  /** Most layers in `model.layers`. */
  readonly maxLayers: number;
  /** Most trainable parameters in a model. */
  readonly maxParameters: number;
  /** Most input features per example. */
  readonly maxInputFeatures: number;
}

/**
 * `maxParameters` is 2²² (4,194,304): as float32 that is 16 MiB, half of a worker's default
 * `maxBodyBytes`, so a model at the limit fits one request with room for a chunk of examples (and
 * its gradients, 16 MiB more, fit the reply). At 10⁷ the parameters alone (40 MB) were over the
 * body limit, and such a job failed with a 413 from the worker mid-job.
 */
export const DEFAULT_MODEL_LIMITS: ModelLimits = {
  maxUnits: 4096,
  maxLayers: 64,
  maxParameters: 4_194_304,
  maxInputFeatures: 1_048_576,
};

/**
 * Limits of a gradient worker (DESIGN.md, "Limits"), advertised by `GET /v1/health` so that the
 * coordinator's shard plan respects them. A request over a limit gets 413 (body) or 400 (the rest),
 * never an out-of-memory crash.
 */
export interface WorkerLimits extends ModelLimits {
  /** Largest request body in bytes; checked while reading, so no more than this is ever buffered. */
  readonly maxBodyBytes: number;
  /** Most examples in one shard. */
  readonly maxExamples: number;
  /**
   * Most activations of one shard: examples × (input features + Σ layer widths). The engine keeps a
   * few copies of every activation for the backward pass, so this bounds its memory (about 24 bytes
   * per activation, ~100 MB at the default) where the body size alone would not: a tiny body can
   * name a wide, deep model.
   */
  readonly maxActivations: number;
  /**
   * Most per-chunk gradient values of one shard: chunks × parameters. The engine keeps every
   * chunk's gradient until it has summed them in canonical tree order, so a shard of many small
   * chunks of a large model needs this much memory (4 bytes each) however small its body is.
   */
  readonly maxChunkGradients: number;
  /** Most requests a worker holds at once (reading, queued or computing); more get 503. */
  readonly maxInFlight: number;
  /**
   * Most examples of one `/v1/rounds` request, summed over its inner steps: the compute budget of
   * one request (a platform's CPU time per request). A longer round goes out as several
   * consecutive requests for the same replica (each step must still fit `maxExamples`).
   */
  readonly maxRoundExamples: number;
}

export const DEFAULT_WORKER_LIMITS: WorkerLimits = {
  ...DEFAULT_MODEL_LIMITS,
  maxBodyBytes: 32 * 1024 * 1024,
  maxExamples: 8192,
  maxActivations: 4 * 1024 * 1024,
  maxChunkGradients: 32 * 1024 * 1024,
  maxInFlight: 4,
  maxRoundExamples: 65_536,
};
