/** Minimal JSON calls to a coordinator for e2e tests: the raw HTTP contract, independent of the SDK. */
export async function api<T = any>(base: string, path: string, init: { method?: string; body?: unknown; token?: string; raw?: string; contentType?: string } = {}): Promise<{ status: number; body: T }> {
  const headers: Record<string, string> = {};
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  let body: string | undefined;
  if (init.raw !== undefined) {
    body = init.raw;
    headers["content-type"] = init.contentType ?? "application/json";
  } else if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    headers["content-type"] = "application/json";
  }
  const response = await fetch(base + path, { method: init.method ?? (body === undefined ? "GET" : "POST"), headers, body });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
}

/** Polls a job until it has finished (or `timeoutMs` passes) and returns its record. */
export async function waitForJob(base: string, id: string, timeoutMs = 120_000, token?: string): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await api(base, `/v1/jobs/${id}`, { token });
    if (body.status === "succeeded" || body.status === "failed" || body.status === "cancelled") return body;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${body.status} after ${timeoutMs} ms: ${JSON.stringify(body.progress)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The parameters of a finished job, by name, as plain number arrays. */
export async function modelParameters(base: string, id: string, token?: string): Promise<Record<string, number[]>> {
  const { status, body } = await api(base, `/v1/jobs/${id}/model?format=json`, { token });
  if (status !== 200) throw new Error(`model of ${id}: HTTP ${status} ${JSON.stringify(body)}`);
  return Object.fromEntries(Object.entries(body.parameters as Record<string, { data: number[] }>).map(([k, v]) => [k, v.data]));
}
