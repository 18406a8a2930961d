/**
 * A job's data, ready for training: the dataset split (seeded, stratified), normalized with
 * statistics fitted on the training split only, and the labels in the engine's form.
 */
import {
  applyNormalization,
  type Dataset,
  fitInputCodes,
  fitNormalization,
  type InputCodes,
  type Normalization,
  splitDataset,
  splitSizes,
  validateAugmentOptions,
} from "../../core/data/mod.ts";
import type { JobSpec } from "../../core/job/spec.ts";
import { ValidationError } from "../../core/validation-error.ts";
import type { ModelPlan } from "../../core/model/spec.ts";

export interface PreparedData {
  /**
   * The training split before normalization: mini-batches are augmented from these raw rows
   * (flips and shifts act on pixels, zero fill is background) and normalized afterwards.
   */
  readonly trainRaw: Dataset;
  readonly train: Dataset;
  readonly dev: Dataset;
  readonly test: Dataset;
  /** Null when `dataset.normalize` is "none". */
  readonly normalization: Normalization | null;
  /**
   * trainRaw's features as one-byte codes (core/data/input-codes.ts) when they take at most 256
   * distinct values and every augmented row is still made of them (no noise; shifts fill with
   * code 0 = +0), else null. Training requests then carry the codes and the workers decode and
   * normalize them to the same bits (DESIGN.md, "Compact inputs").
   */
  readonly inputCodes: InputCodes | null;
}

/**
 * Checks that `dataset` fits the job without copying it: as many features as the model's input,
 * labels the output head can learn, augmentation it supports, a non-empty training split. Throws a
 * ValidationError naming the field. Job submission calls it; prepareData does too.
 */
export function checkDataFits(dataset: Dataset, spec: JobSpec, plan: ModelPlan): void {
  const [m, n] = dataset.shape;
  if (n !== plan.inputSize) {
    throw new ValidationError(
      "model.input",
      `Cannot accept job: 'model.input' has ${plan.inputSize} features but dataset '${spec.dataset.id}' has ${n}`,
    );
  }
  const labels = dataset.labels;
  if (spec.model.output === "linear") {
    if (labels.kind !== "targets" || labels.width !== plan.outputs) {
      throw new ValidationError(
        "dataset.id",
        `Cannot accept job: a linear output with ${plan.outputs} units needs a regression dataset with ${plan.outputs} targets; '${spec.dataset.id}' has ${labels.kind === "classes" ? `${labels.classes.length} classes` : `${labels.width} targets`}`,
      );
    }
  } else {
    if (labels.kind !== "classes") {
      throw new ValidationError("dataset.id", `Cannot accept job: a ${spec.model.output} output needs class labels; dataset '${spec.dataset.id}' has regression targets`);
    }
    const classes = labels.classes.length;
    const expected = spec.model.output === "sigmoid" ? 2 : plan.outputs;
    if (classes > expected || (spec.model.output === "sigmoid" && classes !== 2)) {
      throw new ValidationError(
        "dataset.id",
        `Cannot accept job: the output layer has room for ${expected} classes but dataset '${spec.dataset.id}' has ${classes}`,
      );
    }
  }
  const augment = spec.dataset.augment;
  if (augment && (augment.flipHorizontal || augment.shift > 0 || augment.noise > 0)) {
    if (!dataset.inputShape) {
      throw new ValidationError("dataset.augment", `Cannot accept job: 'dataset.augment' needs image-shaped data; dataset '${spec.dataset.id}' has flat features`);
    }
    validateAugmentOptions(augment, dataset.inputShape);
  }
  if (splitSizes(m, spec.dataset.split).train < 1) {
    throw new ValidationError("dataset.split", `Cannot accept job: dataset '${spec.dataset.id}' has ${m} examples, too few for a training split`);
  }
}

/** Splits and normalizes `dataset` for `spec` after {@link checkDataFits}. */
export function prepareData(dataset: Dataset, spec: JobSpec, plan: ModelPlan): PreparedData {
  checkDataFits(dataset, spec, plan);
  const parts = splitDataset(dataset, { split: spec.dataset.split, seed: spec.seed });
  const augment = spec.dataset.augment;
  const inputCodes = augment && augment.noise > 0 ? null : fitInputCodes(parts.train.features, { zeroFirst: augment !== null && augment.shift > 0 });
  if (spec.dataset.normalize === "none") return { ...parts, trainRaw: parts.train, normalization: null, inputCodes };
  const normalization = fitNormalization(parts.train, spec.dataset.normalize);
  return {
    inputCodes,
    trainRaw: parts.train,
    train: applyNormalization(parts.train, normalization),
    dev: parts.dev.shape[0] > 0 ? applyNormalization(parts.dev, normalization) : parts.dev,
    test: parts.test.shape[0] > 0 ? applyNormalization(parts.test, normalization) : parts.test,
    normalization,
  };
}

/** The engine's labels of a dataset: class indices or row-major targets. */
export function engineLabels(dataset: Dataset): Int32Array | Float32Array {
  return dataset.labels.values;
}
