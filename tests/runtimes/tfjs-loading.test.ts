import { describe, expect, it } from "vitest";
import { tf, useBackend } from "../../core/tf.ts";
import { fixtureGradients } from "./fixture-problem.ts";
import { denoBin, runCommand } from "../helpers/processes.ts";

describe("tfjs loads with gradients the same way everywhere", () => {
  it("under vitest", async () => {
    await useBackend("wasm");
    const g = tf.grad((x) => tf.sum(tf.pow(x, 3)));
    expect(Array.from(await g(tf.tensor1d([1, 2, -3])).data())).toEqual([3, 12, 27]);
    expect(tf.getBackend()).toBe("wasm");
    expect(tf.env().getBool("WASM_HAS_SIMD_SUPPORT")).toBe(true);
  });

  it("under plain Node", async () => {
    const out = await runCommand(process.execPath, ["tests/runtimes/node/tfjs-grad.mjs"]);
    expect(out.stderr).toBe("");
    expect(JSON.parse(out.stdout)).toEqual({ backend: "wasm", simd: true, grad: [3, 12, 27] });
  });

  it("under Deno, with gradients bitwise equal to vitest's", async () => {
    const out = await runCommand(denoBin, ["run", "--allow-read", "--allow-env", "tests/runtimes/deno/print_gradients.ts"]);
    expect(out.code, out.stderr).toBe(0);
    const deno = JSON.parse(out.stdout) as Record<string, number[]>;
    const here = await fixtureGradients();
    expect(Object.keys(deno).sort()).toEqual(Object.keys(here).sort());
    for (const name of Object.keys(here)) expect(deno[name], name).toEqual(here[name]);
  });
});
