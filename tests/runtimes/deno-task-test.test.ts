/**
 * The runner of `deno task test` tolerates exactly one failure mode: a SIGABRT at process exit
 * after Deno printed a summary with every test passed (the software Vulkan driver's known
 * exit-time abort). Everything else keeps its exit code.
 */
import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs script without type declarations
import { judge } from "./deno-task-test.mjs";

const passed = "\x1b[0m\x1b[38;5;245mrunning 3 tests\x1b[0m\nwebgpu ... \x1b[32mok\x1b[0m\n\n\x1b[0m\x1b[32mok\x1b[0m | 4 passed | 0 failed \x1b[38;5;245m(864ms)\x1b[0m\n";
const abort = "corrupted size vs. prev_size in fastbins\n";

describe("deno-task-test.mjs judge", () => {
  it("passes a clean run through", () => {
    expect(judge(passed, 0, null)).toEqual({ code: 0 });
  });

  it("tolerates an abort after a summary with every test passed, and says so", () => {
    const verdict = judge(passed + abort, 134, null);
    expect(verdict.code).toBe(0);
    expect(verdict.warning).toMatch(/aborted at exit after all 4 tests passed \(corrupted size vs\. prev_size in fastbins\)/);
    expect(judge(passed, null, "SIGABRT").code).toBe(0);
  });

  it("fails an abort before the summary, a failed test, or another exit code", () => {
    expect(judge("running 3 tests\nwebgpu ... ok\n" + abort, 134, null)).toEqual({ code: 134 });
    const failed = "webgpu ... FAILED (2ms)\n\nFAILED | 3 passed | 1 failed (900ms)\n";
    expect(judge(failed, 1, null)).toEqual({ code: 1 });
    expect(judge(failed + abort, 134, null)).toEqual({ code: 134 });
    expect(judge(passed, 1, null)).toEqual({ code: 1 });
    expect(judge(passed.replace("4 passed", "0 passed") + abort, 134, null)).toEqual({ code: 134 });
    expect(judge("error: Type checking failed.\n" + passed + abort, 134, null)).toEqual({ code: 134 });
  });
});
