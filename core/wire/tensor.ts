/**
 * NamedArrays on the wire: `{shape, dtype, data}` with `data` the typed array of the dtype, row-major
 * (DESIGN.md, "Wire protocol"). msgpackr carries the typed arrays as typed-array extensions, so they
 * decode as typed arrays of their type without a per-element pass.
 *
 * The schemas check that the data's type matches `dtype` and that its length is the product of
 * `shape`; the `finite` variants also reject NaN and ±Infinity (inputs and parameters of a request
 * must be finite; a reply may carry non-finite gradients, which the coordinator's
 * apply-if-finite handles).
 */
import * as v from "valibot";
import { firstNonFinite } from "../validate.ts";
import { describeValue } from "./wire-error.ts";

/** Element types a tensor may have; `float64` only for the few per-chunk scalars that need it. */
export const DTYPES = ["float32", "float64", "int32", "uint8"] as const;
export type Dtype = (typeof DTYPES)[number];

/** Highest rank a wire tensor may have. */
export const MAX_RANK = 8;

const shape: v.GenericSchema<number[]> = v.pipe(
  v.array(v.pipe(v.number(), v.safeInteger(), v.minValue(0))),
  v.maxLength(MAX_RANK),
);

/** Number of elements of a shape (1 for a scalar). */
export function sizeOfShape(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/** The typed array of a dtype (a Node Buffer counts as a Uint8Array). */
function arrayOf<A>(type: abstract new (...args: never[]) => unknown, dtype: Dtype) {
  return v.custom<A>(
    (x) => x instanceof type,
    (issue) => `must be a ${type.name} (dtype ${dtype}), current value is ${describeValue(issue.input)}`,
  );
}

function typed<D extends Dtype, A extends Float32Array | Float64Array | Int32Array | Uint8Array>(
  dtype: D,
  data: v.GenericSchema<A>,
  finite: boolean,
) {
  return v.pipe(
    v.strictObject({ shape, dtype: v.literal(dtype), data }),
    v.forward(
      v.check(
        (t) => t.data.length === sizeOfShape(t.shape),
        (issue) => {
          const t = issue.input as { shape: number[]; data: A };
          return `has ${t.data.length} values but its shape [${t.shape.join(", ")}] needs ${sizeOfShape(t.shape)}`;
        },
      ),
      ["data"],
    ),
    v.forward(
      v.check(
        (t) => !finite || firstNonFinite(t.data as Float32Array) < 0,
        (issue) => {
          const data = (issue.input as { data: Float32Array }).data;
          const i = firstNonFinite(data);
          return `must be finite, element ${i} is ${data[i]}`;
        },
      ),
      ["data"],
    ),
  );
}

/** A wire tensor of dtype D whose data is an A. */
export type TensorOf<D extends Dtype, A> = { shape: number[]; dtype: D; data: A };

/**
 * The schema of a wire tensor: a strict object (which v.variant tells apart by `dtype`), then its
 * length and finiteness checks. Written out, as the message types are, so that the published API
 * needs no inference (JSR's rule for a package's public types).
 */
export type TensorSchema<D extends Dtype, A> = v.SchemaWithPipe<
  readonly [
    v.StrictObjectSchema<
      { readonly shape: v.GenericSchema<number[]>; readonly dtype: v.LiteralSchema<D, undefined>; readonly data: v.GenericSchema<A> },
      undefined
    >,
    v.GenericValidation<TensorOf<D, A>>,
    v.GenericValidation<TensorOf<D, A>>,
  ]
>;

/** A float32 tensor (any values). */
export const Float32TensorSchema: TensorSchema<"float32", Float32Array> = typed("float32", arrayOf<Float32Array>(Float32Array, "float32"), false);
/** A float32 tensor whose values are all finite. */
export const FiniteFloat32TensorSchema: TensorSchema<"float32", Float32Array> = typed("float32", arrayOf<Float32Array>(Float32Array, "float32"), true);
/** A float64 tensor (per-chunk loss sums, which the engine keeps in float64). */
export const Float64TensorSchema: TensorSchema<"float64", Float64Array> = typed("float64", arrayOf<Float64Array>(Float64Array, "float64"), false);
export const Int32TensorSchema: TensorSchema<"int32", Int32Array> = typed("int32", arrayOf<Int32Array>(Int32Array, "int32"), false);
export const Uint8TensorSchema: TensorSchema<"uint8", Uint8Array> = typed("uint8", arrayOf<Uint8Array>(Uint8Array, "uint8"), false);

export type Float32Tensor = TensorOf<"float32", Float32Array>;
export type Float64Tensor = TensorOf<"float64", Float64Array>;
export type Int32Tensor = TensorOf<"int32", Int32Array>;
export type Uint8Tensor = TensorOf<"uint8", Uint8Array>;
export type WireTensor = Float32Tensor | Float64Tensor | Int32Tensor | Uint8Tensor;
/** Named float32 tensors (parameters, gradients, batch-norm state). */
export type WireTensors = Record<string, Float32Tensor>;

/** Wraps a Float32Array as a wire tensor (no copy). */
export function wireFloat32(data: Float32Array, dims: readonly number[]): Float32Tensor {
  return { shape: [...dims], dtype: "float32", data };
}

/** Wraps an Int32Array as a wire tensor (no copy). */
export function wireInt32(data: Int32Array, dims: readonly number[]): Int32Tensor {
  return { shape: [...dims], dtype: "int32", data };
}

/** Wraps a Float64Array as a wire tensor (no copy). */
export function wireFloat64(data: Float64Array, dims: readonly number[]): Float64Tensor {
  return { shape: [...dims], dtype: "float64", data };
}

/**
 * Named arrays as wire tensors, in `layout`'s order with its shapes (no copy): a model's
 * parameters or gradients (`plan.parameters`), or its batch-norm state (`plan.batchNormState`).
 */
export function wireTensors(
  layout: readonly { readonly name: string; readonly shape: readonly number[] }[],
  data: Readonly<Record<string, Float32Array>>,
): WireTensors {
  const out: WireTensors = {};
  for (const p of layout) out[p.name] = wireFloat32(data[p.name], p.shape);
  return out;
}

/** The data of named wire tensors, by name (no copy). */
export function tensorData(tensors: Readonly<Record<string, Float32Tensor>>): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const [name, t] of Object.entries(tensors)) out[name] = t.data;
  return out;
}
