/**
 * Runs async tasks one at a time, in arrival order. The worker computes through one queue per
 * isolate: tfjs's active backend is process-global, so a request asking for `cpu` must not switch
 * it under a request computing on `wasm`; and one computation at a time bounds the memory of
 * live tensors. Computation is single-threaded anyway, so nothing is lost.
 */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();
  #waiting = 0;

  /** Tasks queued or running. */
  get size(): number {
    return this.#waiting;
  }

  /** Runs `task` after every task queued before it has settled; settles as it does. */
  run<T>(task: () => Promise<T>): Promise<T> {
    this.#waiting++;
    const result = this.#tail.then(task).finally(() => {
      this.#waiting--;
    });
    this.#tail = result.catch(() => undefined);
    return result;
  }
}
