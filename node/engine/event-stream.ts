/**
 * A one-consumer async queue: node-llama-cpp pushes text from its callbacks, the engine's
 * async generator pulls. Aborting `signal` makes the pending (and every later) pull
 * reject with the signal's reason at once, even with events still buffered: an aborted
 * request must stop now, not after draining.
 */
export class EventStream<T> {
  private readonly buffer: T[] = [];
  private ended = false;
  private failure: { error: unknown } | undefined;
  private wake: (() => void) | undefined;
  private readonly signal: AbortSignal;

  constructor(signal: AbortSignal) {
    this.signal = signal;
    signal.addEventListener('abort', () => this.notify(), { once: true });
  }

  push(event: T): void {
    if (this.ended || this.failure) return;
    this.buffer.push(event);
    this.notify();
  }

  end(): void {
    this.ended = true;
    this.notify();
  }

  fail(error: unknown): void {
    if (this.ended || this.failure) return;
    this.failure = { error };
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T, void> {
    for (;;) {
      this.signal.throwIfAborted();
      const next = this.buffer.shift();
      if (next !== undefined) {
        yield next;
        continue;
      }
      if (this.failure) throw this.failure.error;
      if (this.ended) return;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }
}
