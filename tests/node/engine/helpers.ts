import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EngineEvent } from '../../../node/engine/index.js';

export interface Collected {
  text: string;
  /** Every token event's text, in order. */
  tokens: string[];
  end: Extract<EngineEvent, { type: 'end' }>;
}

/** Drain a generation; fails if it ends without exactly one final `end` event. */
export async function collect(events: AsyncIterable<EngineEvent>): Promise<Collected> {
  const tokens: string[] = [];
  let end: Collected['end'] | undefined;
  for await (const event of events) {
    if (end) throw new Error('event after end');
    if (event.type === 'token') {
      if (event.text === '') throw new Error('empty token event');
      tokens.push(event.text);
    } else {
      end = event;
    }
  }
  if (!end) throw new Error('no end event');
  return { text: tokens.join(''), tokens, end };
}

/** A fresh data folder under the OS temp dir, and its cleanup. */
export async function tempDataDir(
  prefix: string,
): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `tp-${prefix}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
