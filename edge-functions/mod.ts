/** The edge function's public surface: the app and the configuration the entry files share. */
export { createApp, MIN_SECRET_LENGTH, type WorkerOptions } from "./app.ts";
export { DEFAULT_HOST, DEFAULT_PORT, limitVariable, listenUrl, serveConfig, workerOptionsFromEnv, type Env, type ServeConfig } from "./worker-config.ts";
export { HttpError } from "../core/http/http-error.ts";
export { VERSION } from "./version.ts";
