/**
 * Cloudflare Workers (workerd) entry, bundled by deploy/cloudflare/build.mjs. Bindings exist only
 * per request (`env`), so the app is created on the first request, from the same variables as on
 * every runtime (edge-functions/worker-config.ts). workerd has no start-up phase to refuse, so a
 * worker without a secret answers every request with a JSON 500 that says why. Its limits default
 * to WORKERD_LIMITS (what fits an isolate's 128 MB), which bindings may override one by one.
 */
import type { Hono } from "hono";
import { createApp } from "../app.ts";
import { workerOptionsFromEnv, type Env } from "../worker-config.ts";
import { WORKERD_LIMITS } from "../worker-limits.ts";

let app: Hono | undefined;

export default {
  fetch(request: Request, env: Env): Response | Promise<Response> {
    try {
      if (!app) {
        const options = workerOptionsFromEnv(env);
        app = createApp({ ...options, limits: { ...WORKERD_LIMITS, ...options.limits }, runtime: "workerd" });
      }
    } catch (error) {
      return Response.json({ error: { code: "misconfigured", message: (error as Error).message } }, { status: 500 });
    }
    return app.fetch(request, env);
  },
};
