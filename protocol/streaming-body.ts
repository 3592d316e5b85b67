/**
 * A streaming body (a web `ReadableStream`, e.g. an HTTP response) that coalesces writes.
 * The first write after a quiet spell goes out at once (on a microtask, so synchronous
 * writes still share it); writes that follow within `FLUSH_INTERVAL_MS` are gathered into
 * one chunk (one socket write). A fast model produces a token every few hundred
 * microseconds, and a socket write plus the client's wake-up per token is a visible share
 * of that; a slow model still gets every token out at once. Writers wait only when the
 * reader is not keeping up (backpressure). Platform-neutral: nodes and gateways use it.
 */
export const FLUSH_INTERVAL_MS = 8;

export class StreamingBody {
  readonly stream: ReadableStream<Uint8Array>;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #parts: Uint8Array[] = [];
  #scheduled = false;
  #lastFlush = 0;
  #closed = false;
  #drained: PromiseWithResolvers<void> | undefined;
  readonly #encoder = new TextEncoder();

  /** `onCancel` runs when the client goes away. */
  constructor(onCancel: (reason: unknown) => void) {
    this.stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#controller = controller;
        },
        pull: () => {
          this.#drained?.resolve();
          this.#drained = undefined;
        },
        cancel: (reason) => {
          this.#closed = true;
          this.#drained?.resolve();
          onCancel(reason);
        },
      },
      { highWaterMark: 2 },
    );
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Queues `data`; resolves at once unless the client is behind. */
  async write(data: Uint8Array | string): Promise<void> {
    if (this.#closed) return;
    this.#parts.push(typeof data === 'string' ? this.#encoder.encode(data) : data);
    if (!this.#scheduled) {
      this.#scheduled = true;
      const wait = this.#lastFlush + FLUSH_INTERVAL_MS - performance.now();
      if (wait <= 0) queueMicrotask(() => this.#flush());
      else setTimeout(() => this.#flush(), wait);
    }
    if ((this.#controller.desiredSize ?? 1) <= 0) {
      this.#drained ??= Promise.withResolvers<void>();
      await this.#drained.promise;
    }
  }

  #flush(): void {
    this.#scheduled = false;
    this.#lastFlush = performance.now();
    if (this.#closed || this.#parts.length === 0) return;
    const parts = this.#parts;
    this.#parts = [];
    if (parts.length === 1) {
      this.#controller.enqueue(parts[0]!);
      return;
    }
    let size = 0;
    for (const p of parts) size += p.length;
    const out = new Uint8Array(size);
    let offset = 0;
    for (const p of parts) {
      out.set(p, offset);
      offset += p.length;
    }
    this.#controller.enqueue(out);
  }

  /** Flushes what is queued and ends the body. */
  close(): void {
    if (this.#closed) return;
    this.#flush();
    this.#closed = true;
    this.#controller.close();
  }
}
