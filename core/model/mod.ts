/** The model engine: spec, parameters, forward/backward, batch norm, dropout, regularization, gradient checking. */
export * from "./spec.ts";
export * from "./parameters.ts";
export * from "./engine.ts";
export * from "./batch-norm.ts";
export * from "./dropout.ts";
export * from "./regularization.ts";
export * from "./reference.ts";
export * from "./gradient-check.ts";
