/**
 * Replaces tfjs-backend-wasm's Slice kernel (4.22) with one that copies only the slice. Upstream
 * first copies the *whole* input out of the wasm heap into a new JS array (`readSync`) and then
 * copies the slice from that: the engine's per-chunk slices of a [256, 784] input and its
 * activations made a reference gradient step allocate 14.4 MB of ArrayBuffers, which on Node
 * drives a full garbage collection on almost every request, and cost ~2 ms of the step. This
 * kernel reads the input through a view of the heap instead. The bytes copied, and so the
 * results, are the same; strings and rank > 4 non-contiguous slices keep the upstream kernel.
 *
 * Imported by the bundle entries (core/tfjs/entry.ts and the workerd flavour), after the wasm
 * backend has registered its kernels.
 */
import {
  getKernel,
  type KernelConfig,
  type KernelFunc,
  registerKernel,
  slice_util,
  type TensorInfo,
  type TypedArray,
  unregisterKernel,
  util,
} from "@tensorflow/tfjs-core";

/** The part of tfjs-backend-wasm's BackendWasm this kernel uses. */
interface WasmBackend {
  makeOutput(shape: number[], dtype: TensorInfo["dtype"]): TensorInfo;
  typedArrayFromHeap(tensor: TensorInfo): TypedArray;
}

const upstream = getKernel("Slice", "wasm");

if (upstream) {
  const original = upstream.kernelFunc;
  const slice: KernelFunc = (args) => {
    const { inputs, attrs } = args;
    const x = inputs.x as TensorInfo;
    const rank = x.shape.length;
    const [begin, size] = slice_util.parseSliceParams(x, attrs!.begin as number[], attrs!.size as number[]);
    const contiguous = slice_util.isSliceContinous(x.shape, begin, size);
    if (x.dtype === "string" || (!contiguous && rank > 4)) return original(args);
    const backend = args.backend as unknown as WasmBackend;
    // The output first: allocating it may grow the heap, which detaches earlier views of it.
    const out = backend.makeOutput(size, x.dtype);
    const from = backend.typedArrayFromHeap(x);
    const to = backend.typedArrayFromHeap(out);
    const strides = util.computeStrides(x.shape);
    if (contiguous) {
      const offset = slice_util.computeFlatOffset(begin, strides);
      to.set(from.subarray(offset, offset + util.sizeFromShape(size)));
      return out;
    }
    // Non-contiguous, rank 2 to 4: seen as rank 4 (leading axes of size 1), copy the innermost
    // runs one by one in row-major order.
    const lead = 4 - rank;
    const [b0, b1, b2, b3] = [...Array(lead).fill(0), ...begin];
    const [n0, n1, n2, n3] = [...Array(lead).fill(1), ...size];
    const [s0, s1, s2] = [...Array(lead).fill(0), ...strides];
    let at = 0;
    for (let i = b0; i < b0 + n0; i++) {
      for (let j = b1; j < b1 + n1; j++) {
        for (let k = b2; k < b2 + n2; k++) {
          const start = i * s0 + j * s1 + k * s2 + b3;
          to.set(from.subarray(start, start + n3), at);
          at += n3;
        }
      }
    }
    return out;
  };
  unregisterKernel("Slice", "wasm");
  registerKernel({ ...upstream, kernelFunc: slice } as KernelConfig);
}
