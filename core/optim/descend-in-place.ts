/** The optimizer step of a round's replica, in place (core/round.ts). */
import { allFinite } from "./apply-if-finite.ts";
import { checkRate } from "./descent.ts";
import { checkSameTensors } from "./named-arrays.ts";
import type { DescentState, Direction, NamedArrays } from "./types.ts";

/**
 * `W ← W − α·d_t` from the gradient sums of `rows` examples, for a caller that owns the sums, the
 * moments and the parameters: the bits of `g = fround(sum/rows)`, then
 * `applyIfFinite(descent(direction, () => α)).update(g)` and `applyUpdates`, written into the
 * moments and parameters, in one pass where the direction has `applyInPlace` (a replica runs this
 * at every inner step over every parameter: the separate passes cost a third of its step). The
 * sums are consumed (overwritten). When a gradient is not finite (exactly when a sum is not, as
 * rows ≥ 1) nothing changes and the answer is null, as applyIfFinite skips the update; otherwise
 * the next state.
 */
export function descendInPlace<M extends object>(
  direction: Direction<M>,
  sums: NamedArrays,
  rows: number,
  state: DescentState<M>,
  alpha: number,
  params: NamedArrays,
): DescentState<M> | null {
  checkSameTensors(sums, params, `update ${direction.name}`, "params");
  if (!(Number.isInteger(rows) && rows >= 1)) throw new RangeError(`Cannot update ${direction.name}: 'rows' must be an integer >= 1, current value is ${rows}`);
  if (!allFinite(sums)) return null;
  const t = state.step + 1;
  const scale = -checkRate(direction.name, alpha, state.step);
  let moments: M;
  if (direction.applyInPlace) {
    moments = direction.applyInPlace(sums, state, t, scale, params, rows);
  } else {
    if (rows !== 1) for (const g of Object.values(sums)) for (let i = 0; i < g.length; i++) g[i] /= rows;
    const [d, next] = direction.update(sums, state, t);
    for (const key of Object.keys(params)) {
      const w = params[key], dk = d[key], n = w.length;
      // descent rounds u = d·(−α) to float32, applyUpdates rounds W + u.
      for (let i = 0; i < n; i++) w[i] += Math.fround(dk[i] * scale);
    }
    moments = next;
  }
  return { ...moments, step: t, learningRate: alpha };
}
