/**
 * Data: the dataset type, CSV parsing, builtin datasets (synthetic sets and MNIST), train/dev/test
 * splits, normalization, mini-batches and augmentation. Runtime-agnostic; imports only core/random.ts.
 */
export type { ClassLabels, Dataset, Labels, TargetLabels } from "./dataset.ts";
export { size, take } from "./dataset.ts";
export type { CsvErrorCode, CsvOptions } from "./csv.ts";
export { CSV_LIMITS, CsvError, parseCsv } from "./csv.ts";
export type {
  BlobsOptions,
  CirclesOptions,
  SpiralsOptions,
  SyntheticDatasetInfo,
  SyntheticOptions,
} from "./synthetic.ts";
export { blobs, circles, moons, syntheticDataset, syntheticDatasets, twoSpirals, xor } from "./synthetic.ts";
export type { MnistOptions } from "./mnist.ts";
export { loadMnist, MNIST_EXAMPLES } from "./mnist.ts";
export type { SplitFractions, SplitIndices, SplitOptions, SplitSizes, SplitSpec } from "./split.ts";
export {
  AUTO_SPLIT_THRESHOLD,
  autoSplitFractions,
  resolveSplit,
  splitDataset,
  splitIndices,
  splitSizes,
} from "./split.ts";
export type { MinMaxScaling, Normalization, NormalizationKind, Standardization } from "./normalize.ts";
export { applyNormalization, fitNormalization, normalizationWidth, normalizeFeatures } from "./normalize.ts";
export type { InputCodes } from "./input-codes.ts";
export { decodeInputs, fitInputCodes, isIdentityTable, MAX_CODES } from "./input-codes.ts";
export type { BatchLocation, BatchOptions } from "./batches.ts";
export { batchIndices, batchOf, epochOrder, miniBatches, stepsPerEpoch } from "./batches.ts";
export type { AugmentKey, AugmentOptions } from "./augment.ts";
export { augmentBatch, augmentExample, validateAugmentOptions } from "./augment.ts";
