/**
 * Size limits that protect workers and the coordinator from requests that would exhaust memory.
 * Defaults as documented in DESIGN.md; every function that enforces one takes an override.
 */
export interface ModelLimits {
  /** Most units in one dense or batch-norm layer. */
  readonly maxUnits: number;
  /** Most layers in `model.layers`. */
  readonly maxLayers: number;
  /** Most trainable parameters in a model. */
  readonly maxParameters: number;
  /** Most input features per example. */
  readonly maxInputFeatures: number;
}

export const DEFAULT_MODEL_LIMITS: ModelLimits = {
  maxUnits: 4096,
  maxLayers: 64,
  maxParameters: 10_000_000,
  maxInputFeatures: 1_048_576,
};
