/**
 * edgeprop core: the runtime-agnostic library (no `Deno`, `node:*` or Cloudflare globals, no I/O).
 * This file is its public surface; files not re-exported here are internal.
 */
export { tf, useBackend, simdEnabled, availableBackends, type BackendName } from "./tf.ts";
export * from "./random.ts";
export * from "./reduce-tree.ts";
export * from "./limits.ts";
export * from "./model/mod.ts";
export * from "./wire/mod.ts";
export { expectEnum, expectNumber, expectRecord, isRecord, show } from "./validate.ts";
export { ValidationError } from "./validation-error.ts";
export * from "./optim/mod.ts";
export * from "./schedule.ts";
export * from "./ewa.ts";
export * from "./metrics.ts";
export * from "./diagnosis.ts";
export * from "./early-stopping.ts";
export * from "./ensemble.ts";
export * from "./search/mod.ts";
export * from "./shard.ts";
export * from "./job/spec.ts";
export type * from "./job/api.ts";
export * from "./data/mod.ts";
export type * from "./job/study-api.ts";
