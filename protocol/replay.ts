/**
 * Replay and staleness protection for sealed requests (the node's side).
 *
 * A request carries, inside its ciphertext, a random id and the client's timestamp.
 * The guard rejects timestamps more than `maxSkewMs` from the node's clock, and ids it
 * has seen. Memory is bounded: when the cache is full the oldest id is evicted and the
 * guard raises a floor to that id's timestamp, so an evicted id can never come back
 * (anything at or below the floor is refused as stale). Only ids of requests that
 * *opened* are recorded, so garbage cannot flush the cache.
 */
import { MAX_CLOCK_SKEW_MS, REPLAY_CACHE_SIZE } from './constants.js';
import { ReplayedRequestError, StaleRequestError } from './errors.js';

export interface ReplayGuardInit {
  /** Ids remembered at most. @default REPLAY_CACHE_SIZE */
  maxEntries?: number;
  /** Largest accepted |now - ts|. @default MAX_CLOCK_SKEW_MS */
  maxSkewMs?: number;
  /** Clock, for tests. @default Date.now */
  now?: () => number;
}

export class ReplayGuard {
  readonly #seen = new Map<string, number>();
  readonly #maxEntries: number;
  readonly #maxSkewMs: number;
  readonly #now: () => number;
  #floor = -Infinity;

  constructor(init: ReplayGuardInit = {}) {
    this.#maxEntries = init.maxEntries ?? REPLAY_CACHE_SIZE;
    this.#maxSkewMs = init.maxSkewMs ?? MAX_CLOCK_SKEW_MS;
    this.#now = init.now ?? Date.now;
  }

  get size(): number {
    return this.#seen.size;
  }

  /** The node's clock now (what a `stale_request` error reports). */
  now(): number {
    return this.#now();
  }

  /** Throws `StaleRequestError` or `ReplayedRequestError`, else records the id. */
  check(id: string, ts: number): void {
    const now = this.#now();
    if (Math.abs(now - ts) > this.#maxSkewMs || ts <= this.#floor) throw new StaleRequestError();
    this.#prune(now);
    if (this.#seen.has(id)) throw new ReplayedRequestError();
    while (this.#seen.size >= this.#maxEntries) {
      const oldest = this.#seen.entries().next().value;
      if (oldest == null) break;
      this.#seen.delete(oldest[0]);
      this.#floor = Math.max(this.#floor, oldest[1]);
    }
    this.#seen.set(id, ts);
  }

  /** Drops ids whose timestamps can no longer pass the skew check anyway. */
  #prune(now: number): void {
    for (const [id, ts] of this.#seen) {
      if (ts >= now - this.#maxSkewMs) break;
      this.#seen.delete(id);
    }
  }
}
