// Worker configuration from a plain environment record and arguments (shared by every entry file).
import { describe, expect, it } from "vitest";
import { limitVariable, listenUrl, serveConfig, workerOptionsFromEnv } from "../../edge-functions/worker-config.ts";

describe("worker configuration", () => {
  it("reads the secret, insecure flag, backend and limits", () => {
    expect(workerOptionsFromEnv({})).toEqual({ secret: undefined, insecure: false, limits: {} });
    expect(workerOptionsFromEnv({
      EDGEPROP_WORKER_SECRET: "s3cret-s3cret-s3cret",
      EDGEPROP_INSECURE: "0",
      EDGEPROP_BACKEND: "cpu",
      EDGEPROP_MAX_BODY_BYTES: "1048576",
      EDGEPROP_MAX_IN_FLIGHT: "2",
    })).toEqual({ secret: "s3cret-s3cret-s3cret", insecure: false, backend: "cpu", limits: { maxBodyBytes: 1048576, maxInFlight: 2 } });
    expect(workerOptionsFromEnv({ EDGEPROP_INSECURE: "1" }).insecure).toBe(true);
    expect(limitVariable("maxActivations")).toBe("EDGEPROP_MAX_ACTIVATIONS");
  });

  it("rejects malformed values naming the variable", () => {
    expect(() => workerOptionsFromEnv({ EDGEPROP_INSECURE: "yes" })).toThrow(/'EDGEPROP_INSECURE' must be 1 or 0, current value is "yes"/);
    expect(() => workerOptionsFromEnv({ EDGEPROP_MAX_EXAMPLES: "1e3" })).toThrow(/'EDGEPROP_MAX_EXAMPLES' must be a positive integer/);
    expect(() => workerOptionsFromEnv({ EDGEPROP_BACKEND: "cuda" })).toThrow(/'EDGEPROP_BACKEND' must be one of wasm, webgpu, cpu/);
  });

  it("takes --port/--host over PORT/HOST over the defaults", () => {
    expect(serveConfig({}, [])).toMatchObject({ port: 8787, host: "127.0.0.1" });
    expect(serveConfig({ PORT: "9000", HOST: "0.0.0.0" }, [])).toMatchObject({ port: 9000, host: "0.0.0.0" });
    expect(serveConfig({ PORT: "9000" }, ["--port", "0", "--host=::1"])).toMatchObject({ port: 0, host: "::1" });
    expect(() => serveConfig({}, ["--port", "99999"])).toThrow(/port must be an integer in \[0, 65535\]/);
    expect(() => serveConfig({}, ["--port"])).toThrow(/'--port' needs a value/);
    expect(listenUrl("::1", 80)).toBe("http://[::1]:80");
  });
});
