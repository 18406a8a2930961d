/** Applying updates to parameters. */
import { checkSameTensors } from "./named-arrays.ts";
import type { NamedArrays } from "./types.ts";

/**
 * `W ← W + u` for every named tensor (each sum rounded to float32): the optimizers' updates already
 * carry the minus sign and the learning rate, `u = −α_t·d_t`. `updates` must have exactly the
 * tensors of `params`. Pure: returns fresh arrays owned by the caller and modifies neither input
 * (descendInPlace is the in-place form of an optimizer's update and this, for a round's replica).
 */
export function applyUpdates(params: Readonly<NamedArrays>, updates: Readonly<NamedArrays>): NamedArrays {
  checkSameTensors(updates, params, "apply updates", "params", "updates");
  const out: NamedArrays = {};
  for (const key of Object.keys(params)) {
    const p = params[key], u = updates[key], n = p.length;
    const w = new Float32Array(n);
    for (let i = 0; i < n; i++) w[i] = p[i] + u[i];
    out[key] = w;
  }
  return out;
}
