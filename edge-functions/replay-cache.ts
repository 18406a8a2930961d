/**
 * The signatures an isolate has accepted, each kept until its timestamp has left the ±60 s window
 * (from then on the timestamp check refuses it anyway): a signed request is served once per
 * isolate. Memory is bounded: past `capacity` signatures the oldest is forgotten, so a flood of
 * valid requests cannot exhaust it, and a replay of a forgotten one is served again. Best effort,
 * then, as it is across isolates (each has its own cache; DESIGN.md, "Auth").
 */

/** Default capacity: about 2 MB of 64-digit signatures, over 130 accepted requests a second for the whole window. */
export const DEFAULT_REPLAY_CAPACITY = 16_384;

export class ReplayCache {
  /** Signature → the last millisecond its timestamp is accepted, in insertion (≈ expiry) order. */
  readonly #seen = new Map<string, number>();
  readonly #capacity: number;

  constructor(capacity: number = DEFAULT_REPLAY_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`Cannot create replay cache: 'capacity' must be a positive integer, current value is ${capacity}`);
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#seen.size;
  }

  /** Whether `signature` was accepted before and is still within its window at `now` (ms). */
  has(signature: string, now: number): boolean {
    const until = this.#seen.get(signature);
    return until !== undefined && until >= now;
  }

  /**
   * Records an accepted signature that is valid until `until` (ms). Returns false, recording
   * nothing, when it is already there: the request is a replay. Synchronous, so that two copies of
   * one request verified concurrently cannot both pass.
   */
  accept(signature: string, until: number, now: number): boolean {
    this.#expire(now);
    if (this.has(signature, now)) return false;
    this.#seen.delete(signature);
    this.#seen.set(signature, until);
    if (this.#seen.size > this.#capacity) this.#seen.delete(this.#seen.keys().next().value!);
    return true;
  }

  /** Drops expired signatures from the front (timestamps arrive roughly in order; the cap catches the rest). */
  #expire(now: number): void {
    for (const [signature, until] of this.#seen) {
      if (until >= now) return;
      this.#seen.delete(signature);
    }
  }
}
