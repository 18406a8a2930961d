/**
 * Types a valibot schema with written-out input and output types (message-types.ts) after
 * checking at compile time that they are exactly what the schema infers, so the two cannot drift.
 */
import type * as v from "valibot";

/** Whether A and B are the same type, not merely assignable one way. */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

/** unknown when S infers exactly I and O; never (a type error at the call) otherwise. */
type Exactly<S extends v.GenericSchema, I, O> = Same<v.InferInput<S>, I> extends true ? (Same<v.InferOutput<S>, O> extends true ? unknown : never) : never;

/** `exactSchema<Input, Output>()(schema)`: the schema itself, typed as GenericSchema<Input, Output>. */
export function exactSchema<I, O>(): <S extends v.GenericSchema>(schema: S & Exactly<S, I, O>) => v.GenericSchema<I, O> {
  return (schema) => schema as unknown as v.GenericSchema<I, O>;
}
