/**
 * Batching for streamed answers: the first item goes out at once (time to first token
 * is untouched), and items that arrive within `windowMs` of the last batch are gathered
 * into the next one. A fast model produces a token every few hundred microseconds; one
 * sealed chunk, frame and write per token costs more than the token. A slow model's
 * tokens still go out one by one, as they come.
 */

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
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    for (;;) {
      pending ??= iterator.next();
      let result: IteratorResult<T> | typeof TICK;
      if (batch.length === 0) {
        result = await pending;
      } else {
        const wait = Math.max(0, lastYield + windowMs - performance.now());
        result = await Promise.race([
          pending,
          new Promise<typeof TICK>((resolve) => {
            timer = setTimeout(() => resolve(TICK), wait);
          }),
        ]);
        clearTimeout(timer);
      }
      if (result === TICK) {
        lastYield = performance.now();
        yield batch;
        batch = [];
        continue;
      }
      pending = undefined;
      if (result.done === true) {
        if (batch.length > 0) yield batch;
        return;
      }
      batch.push(result.value);
      if (isLast(result.value) || performance.now() - lastYield >= windowMs) {
        lastYield = performance.now();
        yield batch;
        batch = [];
      }
    }
  } finally {
    clearTimeout(timer);
    await iterator.return?.();
  }
}
