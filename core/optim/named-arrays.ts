/** Internal helpers over named arrays (parameters, gradients, moments), shared by the optimizers. */
import type { NamedArrays } from "./types.ts";

/** Fresh zero arrays with the names and sizes of `like`. */
export function zerosLike(like: Readonly<NamedArrays>): NamedArrays {
  const out: NamedArrays = {};
  for (const name of Object.keys(like)) out[name] = new Float32Array(like[name].length);
  return out;
}

/**
 * Checks that `grads` has exactly the tensors of `reference` (same names, Float32Arrays of the same
 * sizes); throws a TypeError naming the first mismatch. `what` is e.g. "update adam", `role` names
 * what `reference` is ("state", "params").
 */
export function checkSameTensors(
  grads: Readonly<NamedArrays>,
  reference: Readonly<NamedArrays>,
  what: string,
  role: string,
  gradsRole = "gradients",
): void {
  if (typeof grads !== "object" || grads === null) {
    throw new TypeError(`Cannot ${what}: ${gradsRole} must be a record of Float32Arrays, current value is ${grads}`);
  }
  let count = 0;
  for (const name of Object.keys(grads)) {
    const g = grads[name];
    if (!(g instanceof Float32Array)) {
      throw new TypeError(`Cannot ${what}: ${gradsRole} '${name}' must be a Float32Array`);
    }
    const r = reference[name];
    if (r === undefined) {
      throw new TypeError(`Cannot ${what}: ${gradsRole} '${name}' has no matching tensor in the ${role}`);
    }
    if (r.length !== g.length) {
      throw new TypeError(
        `Cannot ${what}: ${gradsRole} '${name}' has ${g.length} values, the ${role} has ${r.length}`,
      );
    }
    count++;
  }
  if (count !== Object.keys(reference).length) {
    const missing = Object.keys(reference).find((name) => !(name in grads));
    throw new TypeError(`Cannot ${what}: ${gradsRole} have no tensor '${missing}' that the ${role} has`);
  }
}

/** Checks that every value is a Float32Array. */
export function checkTensors(tensors: Readonly<NamedArrays>, what: string, role: string): void {
  if (typeof tensors !== "object" || tensors === null) {
    throw new TypeError(`Cannot ${what}: ${role} must be a record of Float32Arrays, current value is ${tensors}`);
  }
  for (const name of Object.keys(tensors)) {
    if (!(tensors[name] instanceof Float32Array)) {
      throw new TypeError(`Cannot ${what}: ${role} '${name}' must be a Float32Array`);
    }
  }
}
