/**
 * Input codes: the exact compact form of features that take at most 256 distinct float32 values
 * (image pixels: raw integers 0..255, or builtin MNIST's 256 scaled levels). Each value is sent
 * as a one-byte code into a table of the distinct values, and the receiver looks it up and then
 * normalizes with the same float32 statistics and the same expression as normalizeFeatures, so
 * the rows it computes on have the bits the coordinator would have sent in float32.
 */
import { normalizeFeatures, type Normalization } from "./normalize.ts";

/** Most distinct values a code table holds (one byte per code). */
export const MAX_CODES = 256;

export interface InputCodes {
  /** The distinct values (float32 bit patterns, so −0 and 0 differ): 0 first when `zeroFirst` asked for it, then ascending. */
  readonly values: Float32Array;
  /** The features as codes: `values[codes[i]]` is feature i, bit for bit. */
  readonly codes: Uint8Array;
}

/**
 * Codes for `features` when they take at most 256 distinct float32 values, else null. With
 * `zeroFirst`, code 0 stands for +0 (added to the table if absent): shifting images fills with
 * zeros, so shifting the codes themselves gives the codes of the shifted rows.
 */
export function fitInputCodes(features: Float32Array, options: { readonly zeroFirst?: boolean } = {}): InputCodes | null {
  const bits = new Uint32Array(features.buffer, features.byteOffset, features.length);
  const seen = new Map<number, number>();
  if (options.zeroFirst) seen.set(0, 0);
  const first = new Uint8Array(features.length);
  for (let i = 0; i < bits.length; i++) {
    let code = seen.get(bits[i]);
    if (code === undefined) {
      if (seen.size === MAX_CODES) return null;
      code = seen.size;
      seen.set(bits[i], code);
    }
    first[i] = code;
  }
  // Codes were given in order of first appearance; renumber them by value, +0 kept first if asked.
  const byFirst = new Float32Array(new Uint32Array([...seen.keys()]).buffer);
  if (byFirst.some((x) => !Number.isFinite(x))) return null;
  const fixed = options.zeroFirst ? 1 : 0;
  const rest = Array.from({ length: byFirst.length - fixed }, (_, i) => i + fixed).sort((a, b) => byFirst[a] - byFirst[b] || a - b);
  const order = options.zeroFirst ? [0, ...rest] : rest;
  const renumber = new Uint8Array(order.length);
  order.forEach((old, code) => (renumber[old] = code));
  const codes = first;
  for (let i = 0; i < codes.length; i++) codes[i] = renumber[codes[i]];
  return { values: Float32Array.from(order, (old) => byFirst[old]), codes };
}

/** Whether `values` is the identity table (values[c] = c), which the wire may leave out. */
export function isIdentityTable(values: Float32Array): boolean {
  for (let c = 0; c < values.length; c++) if (!Object.is(values[c], c)) return false;
  return true;
}

/**
 * The float32 rows of `codes`: x = values[code] (the code itself when `values` is null), then,
 * with `stats`, normalizeFeatures' x' = (x − shift_j) / scale_j. A new array; the caller checks
 * the codes against the table first.
 */
export function decodeInputs(codes: Uint8Array, values: Float32Array | null, stats: Normalization | null): Float32Array {
  const out = new Float32Array(codes.length);
  if (values) for (let i = 0; i < codes.length; i++) out[i] = values[codes[i]];
  else out.set(codes);
  return stats ? normalizeFeatures(out, stats, out) : out;
}
