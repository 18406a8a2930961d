/**
 * The coordinator's HTTP API (DESIGN.md, "Coordinator HTTP API"), one Hono app for Deno and Node.
 * JSON unless stated; errors are `{error: {code, message, field?}}` from one onError handler;
 * `Authorization: Bearer <token>` is required when an API token is configured.
 */
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { CsvError } from "../core/data/mod.ts";
import { HttpError } from "../core/http/http-error.ts";
import { readBody } from "../core/http/read-body.ts";
import { readJson } from "../core/http/read-json.ts";
import { planModel } from "../core/model/spec.ts";
import { constantTimeEqual } from "../core/wire/signing.ts";
import type { DatasetRegistry } from "./datasets/registry.ts";
import { exportRoutes } from "./export/routes.ts";
import { ValidationError } from "../core/validation-error.ts";
import type { JobManager } from "./jobs/job-manager.ts";
import { epochsDone } from "../core/job/epochs-done.ts";
import { epochMetricsCsv } from "./jobs/metrics-csv.ts";
import { pageOf, pageRequest } from "./paging.ts";
import { type JobRecord, StoreError } from "./store/job-store.ts";
import { type StudyManager, studyRoutes } from "./studies/mod.ts";

export interface CoordinatorLimits {
  /** Largest dataset upload, bytes (default 256 MiB). */
  readonly maxUploadBytes: number;
  /** Largest JSON body (job specs, predictions), bytes (default 16 MiB). */
  readonly maxJsonBytes: number;
}

export const DEFAULT_COORDINATOR_LIMITS: CoordinatorLimits = {
  maxUploadBytes: 256 * 1024 * 1024,
  maxJsonBytes: 16 * 1024 * 1024,
};

export interface CoordinatorOptions {
  readonly jobs: JobManager;
  readonly datasets: DatasetRegistry;
  /** When set, every request must carry `Authorization: Bearer <apiToken>`. */
  readonly apiToken?: string;
  readonly limits?: Partial<CoordinatorLimits>;
  /** Serves the hyperparameter studies at `/v1/studies` when given (coordinator/studies/). */
  readonly studies?: StudyManager;
  /** Serves the dashboard at `/` when given (the page's HTML). */
  readonly dashboard?: () => Promise<Response>;
  /** Serves the dashboard's static files at `/dashboard/<path>` (coordinator/dashboard.ts). */
  readonly dashboardAsset?: (path: string) => Promise<Response>;
}

const SAFE_METHODS: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * A browser may send another site's "simple" POST (no body, text/plain or form-encoded) without
 * asking first, with the user's network position: a page could cancel jobs on a coordinator that
 * has no API token. Browsers name the page's origin on every POST, so a POST from another origin
 * is refused (403); clients that are not browsers (the SDK, the CLI, curl) send no Origin.
 */
function refuseCrossSite(request: Request): void {
  const origin = request.headers.get("origin");
  if (origin === null) return;
  let host: string | null = null;
  try {
    host = new URL(origin).host;
  } catch {
    // "null" (a sandboxed page, a file) or garbage: not this coordinator's origin.
  }
  const own = request.headers.get("host") ?? new URL(request.url).host;
  if (host !== own) {
    throw new HttpError(403, "cross_origin", `Requests from another origin are refused (Origin ${JSON.stringify(origin.slice(0, 100))}, this coordinator is ${own}): use the dashboard served by the coordinator, or a client that is not a browser`);
  }
}

export function createCoordinatorApp(options: CoordinatorOptions): Hono {
  const limits = { ...DEFAULT_COORDINATOR_LIMITS, ...options.limits };
  const { jobs, datasets } = options;
  const app = new Hono();

  app.use("/v1/*", async (c, next) => {
    if (!SAFE_METHODS.has(c.req.method)) refuseCrossSite(c.req.raw);
    if (options.apiToken) {
      const header = c.req.header("authorization") ?? "";
      const token = header.startsWith("Bearer ") ? header.slice(7) : "";
      if (!constantTimeEqual(token, options.apiToken)) {
        throw new HttpError(401, "unauthorized", "missing or wrong API token: send 'Authorization: Bearer $EDGEPROP_API_TOKEN'");
      }
    }
    await next();
  });

  const json = (request: Request): Promise<unknown> => readJson(request, limits.maxJsonBytes);
  const job = async (id: string): Promise<JobRecord> => {
    const record = await jobs.get(id);
    if (!record) throw new HttpError(404, "not_found", `job '${id}' does not exist`);
    return record;
  };

  app.post("/v1/datasets", async (c) => {
    const type = (c.req.header("content-type") ?? "").split(";")[0].trim();
    const bytes = await readBody(c.req.raw, limits.maxUploadBytes, " (uploads are limited; split the dataset or raise the limit)");
    if (type === "application/x-msgpack") {
      return c.json(await datasets.uploadMessagePack(bytes), 201);
    }
    if (type !== "text/csv") {
      throw new HttpError(415, "unsupported_media_type", `Content-Type must be text/csv or application/x-msgpack, current value is ${JSON.stringify(type)}`);
    }
    const label = c.req.query("label");
    if (!label) throw new HttpError(400, "invalid_field", "'label' (query parameter) must name the label column, e.g. ?label=class", { field: "label" });
    const name = c.req.query("name") ?? "dataset";
    const task = c.req.query("task");
    if (task !== undefined && task !== "classification" && task !== "regression") {
      throw new HttpError(400, "invalid_field", `'task' must be "classification" or "regression", current value is ${JSON.stringify(task)}`, { field: "task" });
    }
    return c.json(await datasets.uploadCsv(new TextDecoder().decode(bytes), { name, label, task }), 201);
  });
  app.get("/v1/datasets", async (c) => {
    const request = pageRequest(c.req.query());
    if (!request) return c.json({ datasets: await datasets.list() });
    const page = pageOf(await datasets.list(), request);
    return c.json({ datasets: page.items, nextCursor: page.nextCursor });
  });
  app.get("/v1/datasets/:id", async (c) => {
    const record = await datasets.describe(c.req.param("id"));
    if (!record) throw new HttpError(404, "not_found", `dataset '${c.req.param("id")}' does not exist`);
    return c.json(record);
  });

  app.post("/v1/jobs", async (c) => {
    const record = await jobs.submit(await json(c.req.raw));
    return c.json({ id: record.id, status: record.status }, 201);
  });
  app.get("/v1/jobs", async (c) => {
    const request = pageRequest(c.req.query());
    if (!request) return c.json({ jobs: (await jobs.list()).map(summary) });
    const page = await jobs.listPage(request);
    return c.json({ jobs: page.items.map(summary), nextCursor: page.nextCursor });
  });
  app.get("/v1/jobs/:id", async (c) => c.json(view(await job(c.req.param("id")))));
  app.get("/v1/jobs/:id/metrics", async (c) => {
    const id = (await job(c.req.param("id"))).id;
    const format = c.req.query("format");
    if (format !== undefined && format !== "json" && format !== "csv") {
      throw new HttpError(400, "invalid_field", `'format' must be "json" or "csv", current value is ${JSON.stringify(format)}`, { field: "format" });
    }
    const entries = await jobs.metrics(id);
    if (format === "csv") return c.body(epochMetricsCsv(entries), 200, { "content-type": "text/csv; charset=utf-8", "content-disposition": `attachment; filename="${id}-metrics.csv"` });
    return c.json({ steps: entries.filter((e) => e.kind === "step"), epochs: entries.filter((e) => e.kind === "epoch") });
  });
  app.post("/v1/jobs/:id/continue", async (c) => {
    const id = (await job(c.req.param("id"))).id;
    const body = await json(c.req.raw);
    if (typeof body !== "object" || body === null || !("epochs" in body)) {
      throw new HttpError(400, "invalid_field", "the body must be {\"epochs\": N}, N the number of epochs to train beyond the last checkpoint", { field: "epochs" });
    }
    const record = await jobs.continue(id, (body as { epochs: unknown }).epochs);
    return c.json({ id: record.id, status: record.status, epochs: record.spec.epochs });
  });
  app.get("/v1/jobs/:id/checkpoint", async (c) => {
    const id = (await job(c.req.param("id"))).id;
    const bytes = await jobs.checkpointBytes(id);
    if (!bytes) throw new HttpError(404, "not_found", `job '${id}' has no checkpoint yet`);
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, { "content-type": "application/x-msgpack", "content-disposition": `attachment; filename="${id}-checkpoint.msgpack"` });
  });
  app.post("/v1/jobs/:id/cancel", async (c) => {
    const record = await jobs.cancel((await job(c.req.param("id"))).id);
    return c.json({ id: record!.id, status: record!.status });
  });
  app.get("/v1/jobs/:id/model", async (c) => {
    const id = (await job(c.req.param("id"))).id;
    if (c.req.query("format") === "json") {
      const model = await jobs.model(id);
      if (!model) throw new HttpError(404, "not_found", `job '${id}' has no trained model yet`);
      const plain = (tensors: Record<string, Float32Array>, shapes: Map<string, readonly number[]>) =>
        Object.fromEntries(Object.entries(tensors).map(([k, v]) => [k, { shape: shapes.get(k) ?? [v.length], data: Array.from(v) }]));
      const plan = planModel(model.spec.model);
      const shapes = new Map([...plan.parameters, ...plan.batchNormState].map((p) => [p.name, p.shape]));
      const members = model.members.map((m) => ({ parameters: plain(m.parameters, shapes), batchNorm: plain(m.batchNorm, shapes) }));
      const normalization = model.normalization
        ? Object.fromEntries(Object.entries(model.normalization).map(([k, v]) => [k, ArrayBuffer.isView(v) ? Array.from(v as Float32Array) : v]))
        : null;
      return c.json({ spec: model.spec, parameters: members[0].parameters, batchNorm: members[0].batchNorm, normalization, classNames: model.classNames, members });
    }
    const bytes = await jobs.modelBytes(id);
    if (!bytes) throw new HttpError(404, "not_found", `job '${id}' has no trained model yet`);
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, { "content-type": "application/x-msgpack", "content-disposition": `attachment; filename="${id}.msgpack"` });
  });
  app.route("/v1/jobs", exportRoutes(jobs));
  app.post("/v1/jobs/:id/predict", async (c) => {
    const id = (await job(c.req.param("id"))).id;
    const body = await json(c.req.raw);
    if (typeof body !== "object" || body === null || !("inputs" in body)) {
      throw new HttpError(400, "invalid_field", "the body must be {\"inputs\": number[][]}", { field: "inputs" });
    }
    return c.json(await jobs.predict(id, (body as { inputs: unknown }).inputs));
  });
  app.get("/v1/jobs/:id/events", async (c) => {
    const id = (await job(c.req.param("id"))).id;
    const lastId = Number(c.req.header("last-event-id") ?? c.req.query("lastEventId") ?? 0) || 0;
    return streamSSE(c, async (stream) => {
      let wake: (() => void) | null = null;
      const queue: { id: number; type: string; data: unknown }[] = [];
      const unsubscribe = jobs.events.subscribe(id, lastId, (event) => {
        queue.push(event);
        wake?.();
      });
      stream.onAbort(() => {
        unsubscribe();
        wake?.();
      });
      try {
        // A finished job has no more events to come: replay what is buffered, then a final state.
        for (;;) {
          while (queue.length) {
            const e = queue.shift()!;
            await stream.writeSSE({ id: String(e.id), event: e.type, data: JSON.stringify(e.data) });
            if (e.type === "done" || e.type === "failed" || e.type === "cancelled") return;
          }
          const current = await jobs.get(id);
          if (current && current.status !== "running" && current.status !== "queued" && queue.length === 0) {
            const type = current.status === "succeeded" ? "done" : current.status;
            await stream.writeSSE({ event: type, data: JSON.stringify({ status: current.status, metrics: current.metrics, diagnosis: current.diagnosis, error: current.error, earlyStopping: current.earlyStopping ?? null }) });
            return;
          }
          if (stream.aborted) return;
          await new Promise<void>((resolve) => {
            // The heartbeat keeps proxies from closing an idle stream; an event or the client's
            // leaving clears it, so a busy stream leaves no 15 s timer behind per event.
            const heartbeat = setTimeout(resolve, 15_000);
            wake = () => {
              clearTimeout(heartbeat);
              resolve();
            };
          });
          wake = null;
          if (queue.length === 0 && !stream.aborted) await stream.write(": keep-alive\n\n");
        }
      } finally {
        unsubscribe();
      }
    });
  });

  app.get("/v1/workers", async (c) => c.json({ workers: await jobs.workers() }));
  if (options.studies) app.route("/v1/studies", studyRoutes(options.studies, { maxJsonBytes: limits.maxJsonBytes }));

  app.get("/", async (c) => {
    if (options.dashboard) return options.dashboard();
    return c.text("edgeprop coordinator: the API is under /v1 (see docs/DESIGN.md); this app serves no dashboard (coordinator/server.ts adds it).\n");
  });
  app.get("/dashboard/*", async (c) => {
    if (!options.dashboardAsset) return c.notFound();
    return options.dashboardAsset(c.req.path.slice("/dashboard/".length));
  });

  app.notFound((c) => c.json({ error: { code: "not_found", message: `${c.req.method} ${new URL(c.req.url).pathname} is not an endpoint of this coordinator` } }, 404));
  app.onError((error, c) => {
    if (error instanceof HttpError) return c.json(error.body(), error.status as 400, error.headers);
    if (error instanceof ValidationError) {
      return c.json({ error: { code: error.code, message: error.message, ...(error.field === undefined ? {} : { field: error.field }) } }, 400);
    }
    if (error instanceof CsvError) return c.json({ error: { code: "invalid_csv", message: error.message } }, 400);
    // The data directory's fault, not the request's: 507 for a write (a full disk), 500 for a damaged file.
    if (error instanceof StoreError) return c.json({ error: { code: `store_${error.kind}`, message: error.message } }, error.kind === "write" ? 507 : 500);
    // Anything else is a defect of the coordinator, not of the request: logged with its stack.
    console.error(`coordinator: ${c.req.method} ${c.req.path} failed:`, error);
    return c.json({ error: { code: "internal", message: "internal error; see the coordinator's log" } }, 500);
  });
  return app;
}

function summary(job: JobRecord) {
  return {
    id: job.id,
    name: job.name,
    status: job.status,
    progress: job.progress,
    epochsDone: epochsDone(job.progress),
    bestDev: job.bestDev,
    // A classifier's bestDev is its dev error, a regression's its dev loss (job-run.ts). A damaged
    // record's spec is empty (job-store.ts damagedJobRecord).
    bestDevMetric: job.spec.model?.output === "linear" ? "devLoss" : "devError",
    createdAt: job.createdAt,
    startedAt: job.startedAt,
    finishedAt: job.finishedAt,
    workers: job.workers,
    studyId: job.studyId,
  };
}

function view(job: JobRecord) {
  return {
    id: job.id,
    name: job.name,
    status: job.status,
    spec: job.spec,
    progress: job.progress,
    epochsDone: epochsDone(job.progress),
    metrics: job.metrics,
    diagnosis: job.diagnosis,
    earlyStopping: job.earlyStopping ?? null,
    error: job.error,
    throughput: job.throughput,
    timing: job.timing,
    // Null for a job recorded before the coordinator counted its traffic.
    communication: job.communication ?? null,
    workers: job.workers,
    studyId: job.studyId,
    createdAt: job.createdAt,
    startedAt: job.startedAt,
    finishedAt: job.finishedAt,
  };
}
