// Plain Node (no TypeScript loader, no bundler): the tfjs bundle registers gradients and the wasm backend.
import * as tf from "../../../core/tfjs/bundle/tfjs.mjs";

tf.env().set("PROD", true);
await tf.setBackend("wasm");
// d/dx Σ x³ = 3x²
const grad = tf.grad((x) => tf.sum(tf.pow(x, 3)));
const g = await grad(tf.tensor1d([1, 2, -3])).data();
console.log(JSON.stringify({ backend: tf.getBackend(), simd: tf.env().getBool("WASM_HAS_SIMD_SUPPORT"), grad: Array.from(g) }));
