/**
 * The study endpoints, mounted by the coordinator's app at `/v1/studies` (so its API-token check
 * and its one onError apply): create, list, show, cancel.
 */
import { Hono } from "hono";
import { HttpError } from "../../core/http/http-error.ts";
import { readJson } from "../../core/http/read-json.ts";
import { pageOf, pageRequest } from "../paging.ts";
import type { StudyManager } from "./study-manager.ts";

export interface StudyRoutesOptions {
  /** Largest JSON body, bytes (the app's `maxJsonBytes`). */
  readonly maxJsonBytes: number;
}

export function studyRoutes(studies: StudyManager, options: StudyRoutesOptions): Hono {
  const app = new Hono();
  const missing = (id: string) => new HttpError(404, "not_found", `study '${id}' does not exist`);

  app.post("/", async (c) => {
    const study = await studies.create(await readJson(c.req.raw, options.maxJsonBytes));
    return c.json(await studies.view(study.id), 201);
  });
  app.get("/", async (c) => {
    const request = pageRequest(c.req.query());
    if (!request) return c.json({ studies: await studies.summaries() });
    const page = pageOf(await studies.summaries(), request);
    return c.json({ studies: page.items, nextCursor: page.nextCursor });
  });
  app.get("/:id", async (c) => {
    const view = await studies.view(c.req.param("id"));
    if (!view) throw missing(c.req.param("id"));
    return c.json(view);
  });
  app.post("/:id/cancel", async (c) => {
    const study = await studies.cancel(c.req.param("id"));
    if (!study) throw missing(c.req.param("id"));
    return c.json({ id: study.id, status: study.status });
  });
  return app;
}
