/**
 * A model artifact as a TensorFlow.js LayersModel (`tf.loadLayersModel`): a functional model
 * `model.json` and one weight file it names, WEIGHTS_FILE, beside it. It takes the raw features
 * [batch, n] and returns what `/predict` returns: the input normalization is a first
 * BatchNormalization layer (moving mean = shift, moving variance = scale², epsilon 0, no γ/β, so it
 * computes (x − shift)/scale), then each member's layers, and an Average layer over the members of
 * an ensemble.
 *
 * Our batch norm at inference is γ·(x − mean)/√(variance + ε) + β with ε inside the root and the
 * biased running variance (core/model/batch-norm.ts); Keras BatchNormalization computes the same
 * from its moving statistics, so the running statistics go in unchanged. Dropout is a Dropout
 * layer (identity at inference); the output head is the last Dense layer's activation.
 */
import type { Normalization } from "../../core/data/mod.ts";
import { planModel } from "../../core/model/spec.ts";
import type { ModelArtifact } from "../jobs/model-artifact.ts";

/** Name of the weight file, fetched from the URL next to model.json. */
export const WEIGHTS_FILE = "weights.bin";

interface WeightSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: "float32";
}

interface KerasLayer {
  readonly name: string;
  readonly class_name: string;
  readonly config: Record<string, unknown>;
  readonly inbound_nodes: unknown[];
}

/** The model.json object (format `layers-model`) and the bytes of its weight file. */
export interface TfjsLayersExport {
  readonly modelJson: Record<string, unknown>;
  readonly weights: Uint8Array;
}

/** Builds the LayersModel of `artifact` (a pure function of it: same artifact, same bytes). */
export function tfjsLayersModel(artifact: ModelArtifact): TfjsLayersExport {
  const plan = planModel(artifact.spec.model);
  const layers: KerasLayer[] = [];
  const specs: WeightSpec[] = [];
  const data: Float32Array[] = [];
  const weight = (layer: string, name: string, values: Float32Array, shape: readonly number[]) => {
    specs.push({ name: `${layer}/${name}`, shape, dtype: "float32" });
    data.push(values);
  };
  const add = (name: string, className: string, config: Record<string, unknown>, inputs: readonly string[]): string => {
    layers.push({ name, class_name: className, config: { trainable: true, ...config, name }, inbound_nodes: [inputs.map((i) => [i, 0, 0, {}])] });
    return name;
  };

  layers.push({
    name: "input",
    class_name: "InputLayer",
    config: { batch_input_shape: [null, plan.inputSize], dtype: "float32", sparse: false, name: "input" },
    inbound_nodes: [],
  });
  let features = "input";
  if (artifact.normalization) features = normalizationLayer(artifact.normalization, add, weight);

  const head = plan.spec.output;
  const lastDense = plan.spec.layers.length - 1;
  const outputs = artifact.members.map((member, j) => {
    const prefix = artifact.members.length === 1 ? "" : `member${j}_`;
    let a = features;
    plan.spec.layers.forEach((layer, i) => {
      const name = `${prefix}${layer.type}${i}`;
      switch (layer.type) {
        case "dense": {
          const bias = member.parameters[`dense${i}.b`];
          a = add(name, "Dense", { units: layer.units, activation: i === lastDense ? head : "linear", use_bias: bias !== undefined }, [a]);
          weight(name, "kernel", member.parameters[`dense${i}.W`], [plan.widths[i - 1] ?? plan.inputSize, layer.units]);
          if (bias) weight(name, "bias", bias, [layer.units]);
          break;
        }
        case "batchnorm": {
          const units = plan.widths[i];
          a = add(name, "BatchNormalization", { axis: -1, momentum: layer.momentum, epsilon: layer.epsilon, center: true, scale: true }, [a]);
          weight(name, "gamma", member.parameters[`batchnorm${i}.gamma`], [units]);
          weight(name, "beta", member.parameters[`batchnorm${i}.beta`], [units]);
          weight(name, "moving_mean", member.batchNorm[`batchnorm${i}.mean`], [units]);
          weight(name, "moving_variance", member.batchNorm[`batchnorm${i}.variance`], [units]);
          break;
        }
        case "dropout":
          a = add(name, "Dropout", { rate: 1 - layer.keepProb }, [a]);
          break;
        case "leakyRelu":
          a = add(name, "LeakyReLU", { alpha: layer.alpha ?? 0.01 }, [a]);
          break;
        default:
          a = add(name, "Activation", { activation: layer.type }, [a]);
      }
    });
    return a;
  });
  const output = outputs.length === 1 ? outputs[0] : add("average", "Average", {}, outputs);

  const bytes = new Uint8Array(data.reduce((s, d) => s + d.byteLength, 0));
  let offset = 0;
  for (const d of data) {
    // Weight files are little-endian float32, the byte order of every platform tfjs runs on.
    bytes.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), offset);
    offset += d.byteLength;
  }
  return {
    modelJson: {
      format: "layers-model",
      generatedBy: "edgeprop",
      convertedBy: null,
      modelTopology: {
        class_name: "Model",
        config: { name: "edgeprop", layers, input_layers: [["input", 0, 0]], output_layers: [[output, 0, 0]] },
        keras_version: "tfjs-layers 4.22.0",
        backend: "tensor_flow.js",
      },
      weightsManifest: [{ paths: [WEIGHTS_FILE], weights: specs }],
    },
    weights: bytes,
  };
}

/** (x − shift)/scale per feature as a BatchNormalization layer without γ and β. */
function normalizationLayer(
  stats: Normalization,
  add: (name: string, className: string, config: Record<string, unknown>, inputs: readonly string[]) => string,
  weight: (layer: string, name: string, values: Float32Array, shape: readonly number[]) => void,
): string {
  const shift = stats.kind === "standardize" ? stats.mean : stats.min;
  const scale = stats.kind === "standardize" ? stats.std : stats.range;
  // Not trainable, so Keras would keep it in inference mode; TensorFlow.js's fit() does not (it
  // normalizes with batch statistics there), which makes this export one for inference.
  const name = add("normalization", "BatchNormalization", { axis: -1, epsilon: 0, center: false, scale: false, trainable: false }, ["input"]);
  weight(name, "moving_mean", shift, [shift.length]);
  weight(name, "moving_variance", scale.map((s) => s * s), [scale.length]);
  return name;
}
