/**
 * A fixed pool of context sequences with a bounded FIFO wait queue.
 *
 * A request borrows a sequence with `acquire()`: at once when one is free, else it waits
 * its turn in the queue; when the queue is full it is refused with `EngineBusyError`
 * right away. Aborting a waiting request's signal takes it out of the queue. `release()`
 * resets (clears) the sequence and hands it straight to the next waiter.
 */
import { logger } from '@libp2p/logger';
import { EngineBusyError, EngineClosedError } from './errors.js';

const log = logger('tokenplace:node:engine:pool');

export interface SequencePoolInit<T> {
  /** Most requests waiting beyond the running ones. */
  maxQueue: number;
  /** Make a returned item clean for the next borrower (clear the sequence's history). */
  reset(item: T): Promise<void>;
  /** The `retryAfterMs` hint for a refused request. */
  retryAfterMs(queued: number): number;
}

interface Waiter<T> {
  resolve(item: T): void;
  reject(reason: unknown): void;
  cleanup(): void;
}

export class SequencePool<T> {
  private readonly free: T[];
  private readonly waiters: Array<Waiter<T>> = [];
  private readonly init: SequencePoolInit<T>;
  private readonly size: number;
  private closed = false;

  constructor(items: readonly T[], init: SequencePoolInit<T>) {
    this.free = [...items];
    this.size = items.length;
    this.init = init;
  }

  /** Borrowed items, including ones being reset. */
  get active(): number {
    return this.size - this.free.length;
  }

  get queued(): number {
    return this.waiters.length;
  }

  /** Borrow an item. Rejects with `EngineBusyError`, `EngineClosedError` or the signal's reason. */
  acquire(signal?: AbortSignal): Promise<T> {
    if (this.closed) return Promise.reject(new EngineClosedError());
    if (signal?.aborted) return Promise.reject(signal.reason);
    const item = this.free.pop();
    if (item !== undefined) return Promise.resolve(item);
    if (this.waiters.length >= this.init.maxQueue) {
      return Promise.reject(new EngineBusyError(this.init.retryAfterMs(this.waiters.length)));
    }
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => {
        const index = this.waiters.indexOf(waiter);
        if (index >= 0) this.waiters.splice(index, 1);
        reject(signal?.reason);
      };
      const waiter: Waiter<T> = {
        resolve,
        reject,
        cleanup: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** Give an item back: reset it, then hand it to the longest-waiting request. */
  async release(item: T): Promise<void> {
    try {
      await this.init.reset(item);
    } catch (err) {
      log.error('resetting a sequence failed: %s', (err as Error).message);
    }
    const next = this.waiters.shift();
    if (next) {
      next.cleanup();
      next.resolve(item);
    } else {
      this.free.push(item);
    }
  }

  /** Refuse new requests and turn away everything queued. */
  close(): void {
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) {
      waiter.cleanup();
      waiter.reject(new EngineClosedError());
    }
  }
}
