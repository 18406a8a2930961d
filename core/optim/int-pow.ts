/**
 * `base^n` for a non-negative integer `n` by binary exponentiation. Unlike `Math.pow`, whose
 * rounding is engine-specific, this uses only IEEE multiplications, so every runtime gets the same
 * bits. Internal.
 */
export function intPow(base: number, n: number): number {
  let result = 1;
  let b = base;
  let e = n;
  while (e > 0) {
    if (e % 2 === 1) result *= b;
    e = Math.floor(e / 2);
    if (e > 0) b *= b;
  }
  return result;
}
