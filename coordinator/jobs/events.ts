/**
 * Per-job event streams for SSE: every event gets a sequence number; the last events are kept so
 * that a client reconnecting with `Last-Event-ID` misses nothing that is still in the buffer.
 */
export type JobEventType = "progress" | "metrics" | "epoch" | "checkpoint" | "done" | "failed" | "cancelled";

export interface JobEvent {
  readonly id: number;
  readonly type: JobEventType;
  readonly data: unknown;
}

const BUFFER = 2048;

export class JobEvents {
  readonly #buffers = new Map<string, { next: number; events: JobEvent[]; listeners: Set<(e: JobEvent) => void> }>();

  #entry(jobId: string) {
    let entry = this.#buffers.get(jobId);
    if (!entry) {
      entry = { next: 1, events: [], listeners: new Set() };
      this.#buffers.set(jobId, entry);
    }
    return entry;
  }

  publish(jobId: string, type: JobEventType, data: unknown): void {
    const entry = this.#entry(jobId);
    const event = { id: entry.next++, type, data };
    entry.events.push(event);
    if (entry.events.length > BUFFER) entry.events.splice(0, entry.events.length - BUFFER);
    for (const listener of entry.listeners) listener(event);
  }

  /**
   * Forgets a finished job's buffered events before it runs again (an extended trial), so a new
   * subscriber does not see the old `done` and stop. Ids keep increasing.
   */
  reset(jobId: string): void {
    const entry = this.#buffers.get(jobId);
    if (entry) entry.events = [];
  }

  /** Events after `lastId` still in the buffer, then every new one until `unsubscribe`. */
  subscribe(jobId: string, lastId: number, listener: (e: JobEvent) => void): () => void {
    const entry = this.#entry(jobId);
    for (const e of entry.events) if (e.id > lastId) listener(e);
    entry.listeners.add(listener);
    return () => entry.listeners.delete(listener);
  }
}
