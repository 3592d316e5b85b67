/**
 * Batching for streamed answers: the first item goes out at once (time to first token
 * is untouched), and items that arrive within `windowMs` of the last batch are gathered
 * into the next one. A fast model produces a token every few hundred microseconds; one
 * sealed chunk, frame or socket write per token costs more than the token. A slow
 * model's tokens still go out one by one, as they come.
 */

/** Events ready within this window of the previous batch share a batch (a chunk, a write). */
export const STREAM_WINDOW_MS = 50;

const TICK = Symbol('tick');

/**
 * Yields `source`'s items in batches. A batch is cut early after an item `isLast` says
 * ends the stream. Returning from the consumer returns the source.
 */
export async function* coalesce<T>(
  source: AsyncIterable<T>,
  windowMs: number,
  isLast: (item: T) => boolean = () => false,
): AsyncGenerator<T[]> {
  const iterator = source[Symbol.asyncIterator]();
  let pending: Promise<IteratorResult<T>> | undefined;
  let batch: T[] = [];
  let lastYield = -Infinity;
  // One timer per window, shared by every item that arrives in it.
  let tick: Promise<typeof TICK> | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = (): T[] => {
    const out = batch;
    batch = [];
    lastYield = performance.now();
    clearTimeout(timer);
    tick = undefined;
    return out;
  };
  try {
    for (;;) {
      pending ??= iterator.next();
      let result: IteratorResult<T> | typeof TICK;
      if (batch.length === 0) {
        result = await pending;
      } else {
        tick ??= new Promise<typeof TICK>((resolve) => {
          timer = setTimeout(
            () => resolve(TICK),
            Math.max(0, lastYield + windowMs - performance.now()),
          );
        });
        result = await Promise.race([pending, tick]);
      }
      if (result === TICK) {
        yield flush();
        continue;
      }
      pending = undefined;
      if (result.done === true) {
        if (batch.length > 0) yield flush();
        return;
      }
      batch.push(result.value);
      if (isLast(result.value) || performance.now() - lastYield >= windowMs) yield flush();
    }
  } finally {
    clearTimeout(timer);
    await iterator.return?.();
  }
}
