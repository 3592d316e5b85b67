// untilAborted: the wait ends at the abort, the work goes on, and nothing it does later
// surfaces as an unhandled rejection.
import { describe, expect, it } from 'vitest';
import { untilAborted } from '../../protocol/timers.js';

function deferred<T>(): {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: Error) => void;
} {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('untilAborted', () => {
  it('passes the outcome through while the signal stays unaborted', async () => {
    const controller = new AbortController();
    await expect(untilAborted(Promise.resolve(7), controller.signal)).resolves.toBe(7);
    await expect(
      untilAborted(Promise.reject(new Error('boom')), controller.signal),
    ).rejects.toThrow('boom');
    await expect(untilAborted(Promise.resolve('no signal'))).resolves.toBe('no signal');
  });

  it('rejects with the abort reason as soon as the signal aborts', async () => {
    const controller = new AbortController();
    const work = deferred<number>();
    const waiting = untilAborted(work.promise, controller.signal);
    controller.abort(new Error('gave up'));
    await expect(waiting).rejects.toThrow('gave up');
    work.resolve(1); // finishing later changes nothing
    await expect(waiting).rejects.toThrow('gave up');
  });

  it('rejects at once for an aborted signal, and handles a later failure of the work', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (event: unknown): void => void unhandled.push(event);
    const target = globalThis as unknown as {
      addEventListener?: (type: string, fn: (e: unknown) => void) => void;
      removeEventListener?: (type: string, fn: (e: unknown) => void) => void;
      process?: {
        on(e: string, fn: (r: unknown) => void): void;
        off(e: string, fn: (r: unknown) => void): void;
      };
    };
    target.process?.on('unhandledRejection', onUnhandled);
    target.addEventListener?.('unhandledrejection', onUnhandled);
    try {
      const work = deferred<number>();
      await expect(
        untilAborted(work.promise, AbortSignal.abort(new Error('already'))),
      ).rejects.toThrow('already');
      work.reject(new Error('failed after the abort'));
      await new Promise((r) => setTimeout(r, 20));
      expect(unhandled).toEqual([]);
    } finally {
      target.process?.off('unhandledRejection', onUnhandled);
      target.removeEventListener?.('unhandledrejection', onUnhandled);
    }
  });
});
