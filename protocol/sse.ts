/**
 * Response events in OpenAI's streaming wire format, server-sent events: each chunk as
 * `data: {json}`, an error as `data: {"error": …}`, the end as `data: [DONE]`. Shared by
 * every role that streams an answer over HTTP (a node's OpenAI API, a bootstrap's gateway).
 */
import type { ResponseEvent } from './messages.js';

/** One event as a server-sent event. */
export function sseEvent(event: ResponseEvent): string {
  switch (event.type) {
    case 'chunk':
    case 'result':
      return `data: ${JSON.stringify(event.data)}\n\n`;
    case 'error':
      return `data: ${JSON.stringify({ error: event.error })}\n\n`;
    case 'done':
      return 'data: [DONE]\n\n';
  }
}

/** Events that are ready together, as one piece of text (one write). */
export function sseEvents(events: readonly ResponseEvent[]): string {
  let text = '';
  for (const event of events) text += sseEvent(event);
  return text;
}

/** Where an answer's server-sent events go. */
export interface SseSink {
  readonly closed: boolean;
  /** Resolves when the sink can take more (backpressure). */
  write(text: string): Promise<void>;
}

/**
 * Writes an answer's batches of events (see `runInferenceBatches`), one write per batch:
 * `first`, then `rest` until the batch that ends the answer, the end of `rest`, or a
 * closed sink. Throws what `rest` throws; the caller ends the sink.
 */
export async function writeSseBatches(
  first: readonly ResponseEvent[],
  rest: AsyncIterable<ResponseEvent[]>,
  sink: SseSink,
): Promise<void> {
  await sink.write(sseEvents(first));
  if (first.at(-1)?.type !== 'chunk') return;
  for await (const batch of rest) {
    if (sink.closed) return;
    await sink.write(sseEvents(batch));
    if (batch.at(-1)?.type !== 'chunk') return;
  }
}
