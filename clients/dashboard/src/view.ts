/** What every page of the dashboard gets: the API, its root element, and a signal that ends it. */
import type { Api } from "./api.ts";
import { h } from "./dom.ts";
import { sleep } from "../../../core/sleep.ts";

export interface ViewContext {
  readonly api: Api;
  readonly root: HTMLElement;
  /** Aborted when the user leaves the page: stops its streams, timers and pending redraws. */
  readonly signal: AbortSignal;
}

export interface PollOptions {
  readonly everyMs: number;
  readonly signal: AbortSignal;
  /** Called with a failed call's error; polling goes on (default: ignore). */
  readonly onError?: (error: unknown) => void;
}

/**
 * Calls `fn` every `everyMs` until `signal` aborts or `fn` returns false. The API has no event
 * stream for lists and studies, so those pages poll; a failure shows and the next call may succeed.
 */
export async function poll(fn: () => Promise<boolean | void>, options: PollOptions): Promise<void> {
  const { everyMs, signal, onError } = options;
  while (!signal.aborted) {
    try {
      if ((await fn()) === false) return;
    } catch (error) {
      if (signal.aborted) return;
      onError?.(error);
    }
    await sleep(everyMs, signal);
  }
}

/** A status badge: `data-status` carries the raw status for styling and tests. */
export function statusBadge(status: string): HTMLElement {
  return h("span", { class: `status status-${status}`, "data-status": status }, status);
}

/** The message of an error for a banner. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export { sleep };
