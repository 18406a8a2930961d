/**
 * Hyperparameter search: spaces, their validation, random and grid sampling, coarse-to-fine
 * zooming, and paths into a job spec. The search loop itself (trials, concurrency, successive
 * halving) runs in the coordinator.
 */
export type {
  ChoiceDimension,
  Dimension,
  DimensionType,
  IntDimension,
  LogUniformDimension,
  NumericDimension,
  OneMinusLogDimension,
  Space,
  UniformDimension,
  Values,
} from "./space.ts";
export { DIMENSION_TYPES, validateDimension, validateSpace } from "./space.ts";
export type { Scale } from "./scale.ts";
export { scaleOf } from "./scale.ts";
export type { RandomSearchOptions } from "./random-search.ts";
export { MAX_RANDOM_TRIALS, randomSearch, sampleDimension } from "./random-search.ts";
export { gridSearch, gridValues, MAX_GRID_POINTS } from "./grid-search.ts";
export type { ZoomOptions } from "./zoom.ts";
export { zoom } from "./zoom.ts";
export type { PathSegment, SetPathOptions } from "./path.ts";
export { applyValues, getPath, parsePath, setPath } from "./path.ts";
