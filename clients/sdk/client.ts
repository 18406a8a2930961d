/**
 * A typed client of the coordinator over fetch, unchanged in Node, Deno and browsers. Every
 * failure is an `EdgepropError` carrying the HTTP status and the server's message.
 */
import { sleep } from "../../core/sleep.ts";
import type { Dataset, Job, JobEvent, JobSummary, MetricsHistory, ModelJson, Page, PageOptions, Prediction, WorkerStatus } from "./types.ts";

/** An error answer of the coordinator (status ≥ 400) or a failure to reach it (status 0). */
export class EdgepropError extends Error {
  override name = "EdgepropError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export interface ClientOptions {
  /** Base URL of the coordinator, e.g. `http://127.0.0.1:8080`. */
  readonly baseUrl: string;
  /** API token (`EDGEPROP_API_TOKEN` of the coordinator), sent as a bearer token. */
  readonly token?: string;
  readonly fetch?: typeof fetch;
}

export interface WatchOptions {
  readonly signal?: AbortSignal;
  /** Resume after this event id (what the last received event carried). */
  readonly lastEventId?: number;
  /** Reconnection attempts in a row before giving up (default 10). */
  readonly maxReconnects?: number;
}

/** Formats of `exportUrl` and `downloadExport`: a TensorFlow.js LayersModel or an ONNX model. */
export type ExportFormat = "tfjs" | "onnx";

const TERMINAL = new Set(["done", "failed", "cancelled"]);

export class EdgepropClient {
  readonly #base: string;
  readonly #token: string | undefined;
  readonly #fetch: typeof fetch;

  constructor(options: ClientOptions) {
    this.#base = options.baseUrl.replace(/\/+$/, "");
    this.#token = options.token;
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
  }

  // Datasets -----------------------------------------------------------------------------------

  async listDatasets(): Promise<Dataset[]> {
    return (await this.#json<{ datasets: Dataset[] }>("GET", "/v1/datasets")).datasets;
  }

  /** One page of the datasets, newest upload first, the builtins last. */
  listDatasetsPage(options: PageOptions = {}): Promise<Page<Dataset>> {
    return this.page("/v1/datasets", "datasets", options);
  }

  getDataset(id: string): Promise<Dataset> {
    return this.#json("GET", `/v1/datasets/${encodeURIComponent(id)}`);
  }

  /** Uploads a CSV with a header; `label` names the label column. */
  uploadCsv(csv: string, options: { name: string; label: string; task?: "classification" | "regression" }): Promise<Dataset> {
    const query = new URLSearchParams({ name: options.name, label: options.label, ...(options.task ? { task: options.task } : {}) });
    return this.#json("POST", `/v1/datasets?${query}`, { body: csv, contentType: "text/csv" });
  }

  // Jobs ---------------------------------------------------------------------------------------

  submitJob(spec: unknown): Promise<{ id: string; status: string }> {
    return this.#json("POST", "/v1/jobs", { body: JSON.stringify(spec), contentType: "application/json" });
  }

  /** Every job, oldest first, in one response (a coordinator with thousands of jobs: use `jobs()`). */
  async listJobs(): Promise<JobSummary[]> {
    return (await this.#json<{ jobs: JobSummary[] }>("GET", "/v1/jobs")).jobs;
  }

  /** One page of the jobs, newest first; the coordinator reads only that page's records. */
  listJobsPage(options: PageOptions = {}): Promise<Page<JobSummary>> {
    return this.page("/v1/jobs", "jobs", options);
  }

  /** Every job, newest first, fetched a page (`limit`, default 100) at a time as the loop asks. */
  async *jobs(options: { limit?: number } = {}): AsyncGenerator<JobSummary> {
    let cursor: string | null = null;
    do {
      const page: Page<JobSummary> = await this.listJobsPage({ limit: options.limit, cursor });
      yield* page.items;
      cursor = page.nextCursor;
    } while (cursor !== null);
  }

  getJob(id: string): Promise<Job> {
    return this.#json("GET", `/v1/jobs/${encodeURIComponent(id)}`);
  }

  getMetrics(id: string): Promise<MetricsHistory> {
    return this.#json("GET", `/v1/jobs/${encodeURIComponent(id)}/metrics`);
  }

  /**
   * Trains a succeeded or cancelled job `epochs` more epochs from its last checkpoint: the same id
   * runs again (follow it with `watch`), its history kept; `epochs` in the answer is the new total.
   */
  continueJob(id: string, epochs: number): Promise<{ id: string; status: string; epochs: number }> {
    return this.#json("POST", `/v1/jobs/${encodeURIComponent(id)}/continue`, { body: JSON.stringify({ epochs }), contentType: "application/json" });
  }

  /** The job's last checkpoint, MessagePack bytes of `{state, metricsCount}` (404 before the first). */
  async downloadCheckpoint(id: string): Promise<Uint8Array> {
    const response = await this.#request("GET", `/v1/jobs/${encodeURIComponent(id)}/checkpoint`);
    return new Uint8Array(await response.arrayBuffer());
  }

  /** The per-epoch metrics as CSV text (a header row, then one row per member and epoch, 1-based). */
  async getMetricsCsv(id: string): Promise<string> {
    return (await this.#request("GET", `/v1/jobs/${encodeURIComponent(id)}/metrics?format=csv`)).text();
  }

  cancelJob(id: string): Promise<{ id: string; status: string }> {
    return this.#json("POST", `/v1/jobs/${encodeURIComponent(id)}/cancel`);
  }

  /** The trained model as JSON (plain number arrays). */
  getModel(id: string): Promise<ModelJson> {
    return this.#json("GET", `/v1/jobs/${encodeURIComponent(id)}/model?format=json`);
  }

  /** The trained model artifact as MessagePack bytes. */
  async downloadModel(id: string): Promise<Uint8Array> {
    const response = await this.#request("GET", `/v1/jobs/${encodeURIComponent(id)}/model`);
    return new Uint8Array(await response.arrayBuffer());
  }

  /**
   * Where a model export is served: `tfjs` is the LayersModel's model.json (for
   * `tf.loadLayersModel(url, {requestInit: {headers: {authorization}}})`; its weight file lies
   * next to it), `onnx` the ONNX model.
   */
  exportUrl(id: string, format: ExportFormat): string {
    const path = format === "tfjs" ? "tfjs/model.json" : "model.onnx";
    return `${this.#base}/v1/jobs/${encodeURIComponent(id)}/export/${path}`;
  }

  /**
   * The files of a model export by file name: `model.json` and the weight files it names for
   * `tfjs`, `model.onnx` for `onnx`.
   */
  async downloadExport(id: string, format: ExportFormat): Promise<Map<string, Uint8Array>> {
    const base = `/v1/jobs/${encodeURIComponent(id)}/export/`;
    if (format === "onnx") return new Map([["model.onnx", new Uint8Array(await (await this.#request("GET", `${base}model.onnx`)).arrayBuffer())]]);
    const modelJson = new Uint8Array(await (await this.#request("GET", `${base}tfjs/model.json`)).arrayBuffer());
    const files = new Map([["model.json", modelJson]]);
    const manifest = (JSON.parse(new TextDecoder().decode(modelJson)) as { weightsManifest?: { paths?: unknown[] }[] }).weightsManifest ?? [];
    for (const name of manifest.flatMap((group) => group.paths ?? [])) {
      // The names become file names beside model.json: plain names only.
      if (typeof name !== "string" || !/^[\w-][\w.-]*$/.test(name)) throw new EdgepropError(502, "invalid_export", `model.json names a weight file ${JSON.stringify(name)}, not a plain file name`);
      files.set(name, new Uint8Array(await (await this.#request("GET", `${base}tfjs/${name}`)).arrayBuffer()));
    }
    return files;
  }

  predict(id: string, inputs: number[][]): Promise<Prediction> {
    return this.#json("POST", `/v1/jobs/${encodeURIComponent(id)}/predict`, { body: JSON.stringify({ inputs }), contentType: "application/json" });
  }

  async workers(): Promise<WorkerStatus[]> {
    return (await this.#json<{ workers: WorkerStatus[] }>("GET", "/v1/workers")).workers;
  }

  /**
   * The job's events as they happen, ending after `done`, `failed` or `cancelled`. A dropped
   * connection is reopened with `Last-Event-ID`, so no buffered event is lost or repeated.
   */
  async *watch(id: string, options: WatchOptions = {}): AsyncGenerator<JobEvent> {
    let lastId = options.lastEventId ?? 0;
    let failures = 0;
    const maxReconnects = options.maxReconnects ?? 10;
    for (;;) {
      let response: Response;
      try {
        response = await this.#request("GET", `/v1/jobs/${encodeURIComponent(id)}/events`, {
          headers: { accept: "text/event-stream", ...(lastId ? { "last-event-id": String(lastId) } : {}) },
          signal: options.signal,
        });
      } catch (error) {
        if (error instanceof EdgepropError && error.status !== 0) throw error;
        if (options.signal?.aborted || ++failures > maxReconnects) throw error;
        await sleep(Math.min(5_000, 100 * 2 ** failures), options.signal);
        continue;
      }
      try {
        for await (const event of parseEventStream(response.body!)) {
          failures = 0;
          if (event.id !== null) lastId = event.id;
          yield event;
          if (TERMINAL.has(event.type)) return;
        }
      } catch (error) {
        if (options.signal?.aborted) throw error;
      }
      // The stream ended without a final event: the connection dropped. Reconnect and resume.
      if (options.signal?.aborted || ++failures > maxReconnects) {
        throw new EdgepropError(0, "stream_closed", `the event stream of job '${id}' closed before the job finished`);
      }
      await sleep(Math.min(5_000, 100 * 2 ** failures), options.signal);
    }
  }

  /** Waits for the job to finish (following its events) and returns its final record. */
  async wait(id: string, options: { signal?: AbortSignal } = {}): Promise<Job> {
    for await (const _ of this.watch(id, options)) {
      // Only the end matters here.
    }
    return this.getJob(id);
  }

  async #request(method: string, path: string, init: { body?: BodyInit; contentType?: string; headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<Response> {
    const headers: Record<string, string> = { ...init.headers };
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    if (init.contentType) headers["content-type"] = init.contentType;
    let response: Response;
    try {
      response = await this.#fetch(this.#base + path, { method, headers, body: init.body, signal: init.signal });
    } catch (error) {
      throw new EdgepropError(0, "unreachable", `cannot reach the coordinator at ${this.#base}: ${(error as Error).message}`);
    }
    if (!response.ok) {
      let code = "http_error", message = `HTTP ${response.status}`, field: string | undefined;
      try {
        const body = (await response.json()) as { error?: { code?: string; message?: string; field?: string } };
        code = body.error?.code ?? code;
        message = body.error?.message ?? message;
        field = body.error?.field;
      } catch {
        // not a JSON error body
      }
      throw new EdgepropError(response.status, code, message, field);
    }
    return response;
  }

  /**
   * A JSON call to any coordinator endpoint (`body` is sent as JSON), with the client's token and
   * error handling: what the typed methods, and the studies client, are built on.
   */
  requestJson<T>(method: string, path: string, body?: unknown): Promise<T> {
    return this.#json(method, path, body === undefined ? {} : { body: JSON.stringify(body), contentType: "application/json" });
  }

  /** A page of the listing at `path`, whose items the response carries under `key` (`jobs`, `studies`, …). */
  async page<T>(path: string, key: string, options: PageOptions = {}): Promise<Page<T>> {
    const query = new URLSearchParams({ limit: String(options.limit ?? 100), ...(options.cursor ? { cursor: options.cursor } : {}) });
    const body = await this.#json<Record<string, unknown>>("GET", `${path}?${query}`);
    return { items: body[key] as T[], nextCursor: (body.nextCursor as string | null | undefined) ?? null };
  }

  async #json<T>(method: string, path: string, init: { body?: BodyInit; contentType?: string } = {}): Promise<T> {
    const response = await this.#request(method, path, init);
    return (await response.json()) as T;
  }
}

/** Parses a text/event-stream body into typed events (comments and heartbeats are skipped). */
export async function* parseEventStream(body: ReadableStream<Uint8Array>): AsyncGenerator<JobEvent> {
  const reader = body.pipeThrough(new TextDecoderStream() as unknown as TransformStream<Uint8Array, string>).getReader();
  let buffer = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += value.replace(/\r\n?/g, "\n");
      let end: number;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let type = "message", data = "", id: number | null = null;
        for (const line of block.split("\n")) {
          if (line.startsWith(":")) continue;
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
          if (field === "event") type = text;
          else if (field === "data") data += (data ? "\n" : "") + text;
          else if (field === "id") id = Number(text);
        }
        if (data) yield { type, id, data: JSON.parse(data) } as JobEvent;
      }
    }
  } finally {
    reader.releaseLock();
  }
}
