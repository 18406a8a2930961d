/** Where a training step's time went (DESIGN.md `timing.breakdown`), and its medians over an epoch. */
import type { StepTiming } from "../../core/job/api.ts";
import type { PassTiming } from "../pool/worker-pool.ts";

const PHASES: readonly (keyof StepTiming)[] = ["plan", "encode", "transfer", "compute", "decode", "reduce", "optimizer"];

/** A step's timing from its phases measured by the trainer and its pool pass. */
export function stepTiming(own: { readonly plan: number; readonly reduce: number; readonly optimizer: number }, pass: PassTiming): StepTiming {
  return { plan: own.plan, encode: pass.encode, transfer: pass.transfer, compute: pass.compute, decode: pass.decode, reduce: own.reduce, optimizer: own.optimizer };
}

/** Total milliseconds of a step. */
export function stepMs(timing: StepTiming): number {
  return PHASES.reduce((sum, k) => sum + timing[k], 0);
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The median of every phase over the steps of an epoch. */
export function medianTiming(timings: readonly StepTiming[]): StepTiming {
  const out = { plan: 0, encode: 0, transfer: 0, compute: 0, decode: 0, reduce: 0, optimizer: 0 };
  for (const k of PHASES) out[k] = median(timings.map((t) => t[k]));
  return out;
}
