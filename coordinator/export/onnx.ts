/**
 * A model artifact as an ONNX model (standard opset 17, no custom operators). Input `input`
 * [batch, n] float32 raw features; output `output` [batch, K]: the probabilities or values that
 * `/predict` returns. The graph: Sub and Div by the fitted normalization (when there is one), then
 * per member Gemm (dense; no C where batch norm follows), BatchNormalization (inference mode, the
 * running statistics, ε inside the root as ours), Relu/LeakyRelu/Tanh/Sigmoid, and the head
 * (Softmax on the last axis, Sigmoid, or none); Mean over the members of an ensemble. Dropout and
 * linear layers are the identity at inference and add no node.
 */
import { planModel } from "../../core/model/spec.ts";
import type { ModelArtifact } from "../jobs/model-artifact.ts";
import { ATTRIBUTE_FLOAT, ATTRIBUTE_INT, FLOAT, ModelProto } from "./onnx-schema.ts";

const OPSET = 17;
const IR_VERSION = 8;

interface Attribute {
  readonly name: string;
  readonly type: number;
  readonly f?: number;
  readonly i?: number;
}

interface Node {
  readonly name: string;
  readonly op_type: string;
  readonly input: readonly string[];
  output: string[];
  readonly attribute: readonly Attribute[];
}

/** The ONNX bytes of `artifact` (a pure function of it). */
export function onnxModel(artifact: ModelArtifact): Uint8Array {
  const plan = planModel(artifact.spec.model);
  const nodes: Node[] = [];
  const initializers: { name: string; dims: number[]; data_type: number; raw_data: Uint8Array }[] = [];
  const constant = (name: string, values: Float32Array, dims: readonly number[]): string => {
    initializers.push({ name, dims: [...dims], data_type: FLOAT, raw_data: littleEndian(values) });
    return name;
  };
  const node = (name: string, op: string, input: readonly string[], attribute: readonly Attribute[] = []): string => {
    nodes.push({ name, op_type: op, input, output: [name], attribute });
    return name;
  };

  let features = "input";
  const stats = artifact.normalization;
  if (stats) {
    const [shift, scale] = stats.kind === "standardize" ? [stats.mean, stats.std] : [stats.min, stats.range];
    const centered = node("normalization_sub", "Sub", [features, constant("normalization.shift", shift, [shift.length])]);
    features = node("normalization", "Div", [centered, constant("normalization.scale", scale, [scale.length])]);
  }

  const head = plan.spec.output;
  const outputs = artifact.members.map((member, j) => {
    const prefix = `member${j}/`;
    let a = features;
    plan.spec.layers.forEach((layer, i) => {
      const name = `${prefix}${layer.type}${i}`;
      switch (layer.type) {
        case "dense": {
          const W = constant(`${prefix}dense${i}.W`, member.parameters[`dense${i}.W`], [plan.widths[i - 1] ?? plan.inputSize, layer.units]);
          const b = member.parameters[`dense${i}.b`];
          a = node(name, "Gemm", b ? [a, W, constant(`${prefix}dense${i}.b`, b, [layer.units])] : [a, W]);
          break;
        }
        case "batchnorm": {
          const units = [plan.widths[i]];
          const tensor = (key: string, values: Float32Array) => constant(`${prefix}batchnorm${i}.${key}`, values, units);
          a = node(name, "BatchNormalization", [
            a,
            tensor("gamma", member.parameters[`batchnorm${i}.gamma`]),
            tensor("beta", member.parameters[`batchnorm${i}.beta`]),
            tensor("mean", member.batchNorm[`batchnorm${i}.mean`]),
            tensor("variance", member.batchNorm[`batchnorm${i}.variance`]),
          ], [{ name: "epsilon", type: ATTRIBUTE_FLOAT, f: layer.epsilon }]);
          break;
        }
        case "relu":
          a = node(name, "Relu", [a]);
          break;
        case "leakyRelu":
          a = node(name, "LeakyRelu", [a], [{ name: "alpha", type: ATTRIBUTE_FLOAT, f: layer.alpha ?? 0.01 }]);
          break;
        case "tanh":
          a = node(name, "Tanh", [a]);
          break;
        case "sigmoid":
          a = node(name, "Sigmoid", [a]);
          break;
        case "dropout":
        case "linear":
          break;
      }
    });
    if (head === "softmax") a = node(`${prefix}softmax`, "Softmax", [a], [{ name: "axis", type: ATTRIBUTE_INT, i: -1 }]);
    if (head === "sigmoid") a = node(`${prefix}sigmoid`, "Sigmoid", [a]);
    return a;
  });
  if (outputs.length > 1) node("output", "Mean", outputs);
  else nodes[nodes.length - 1].output = ["output"];

  const tensorType = (dims: readonly (number | string)[]) => ({
    tensor_type: {
      elem_type: FLOAT,
      shape: { dim: dims.map((d) => (typeof d === "string" ? { dim_param: d } : { dim_value: d })) },
    },
  });
  const model = ModelProto.fromObject({
    ir_version: IR_VERSION,
    producer_name: "edgeprop",
    doc_string: `${artifact.spec.model.output} output of ${plan.outputs} units from ${plan.inputSize} raw features` +
      (artifact.members.length > 1 ? `, mean of ${artifact.members.length} members` : ""),
    opset_import: [{ domain: "", version: OPSET }],
    graph: {
      name: "edgeprop",
      node: nodes,
      initializer: initializers,
      input: [{ name: "input", type: tensorType(["batch", plan.inputSize]) }],
      output: [{ name: "output", type: tensorType(["batch", plan.outputs]) }],
    },
  });
  return ModelProto.encode(model).finish();
}

/** The bytes of a float32 array in little-endian order (ONNX raw_data). */
function littleEndian(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((v, k) => view.setFloat32(k * 4, v, true));
  return out;
}
