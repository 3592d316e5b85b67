// The inference service yields its events in batches (node/service.ts): the first event
// alone and at once, then what the engine made within each streaming window, with the
// window's text deltas joined into one chunk. Every way out (SSE, sealed chunks) writes
// a batch at once, so these batches are what a client receives.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine, type Engine } from '../../../node/engine/index.js';
import { InferenceService } from '../../../node/service.js';
import type { ResponseEvent } from '../../../protocol/index.js';
import { DEMO_ANSWER } from '../../helpers/node.js';

let dataDir: string;
let engine: Engine;
let service: InferenceService;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'tokenplace-test-'));
  engine = await createEngine({ model: 'demo', dataDir, maxConcurrency: 1 });
  service = new InferenceService({ engine });
});
afterAll(async () => {
  await engine?.close();
  await rm(dataDir, { recursive: true, force: true });
});

async function batchesOf(endpoint: 'chat.completions' | 'completions', body: unknown) {
  const batches: ResponseEvent[][] = [];
  for await (const batch of service.run(endpoint, body, { signal: new AbortController().signal }))
    batches.push(batch);
  return batches;
}

type Choice = { delta?: { content?: string; role?: string }; text?: string };
const choiceOf = (event: ResponseEvent): Choice | undefined =>
  event.type === 'chunk' ? (event.data.choices as Choice[])[0] : undefined;
const textOf = (event: ResponseEvent): string => {
  const choice = choiceOf(event);
  return choice?.delta?.content ?? choice?.text ?? '';
};

describe('InferenceService batches', () => {
  it('streams the first token alone, then one text chunk per batch, ending with done', async () => {
    const batches = await batchesOf('chat.completions', {
      model: 'demo',
      stream: true,
      messages: [{ role: 'user', content: 'Hello' }],
    });
    expect(batches.length).toBeGreaterThanOrEqual(2);
    expect(batches.every((b) => b.length > 0)).toBe(true);
    const [first] = batches;
    expect(first).toHaveLength(1);
    expect(choiceOf(first![0]!)?.delta?.role).toBe('assistant');
    expect(textOf(first![0]!).length).toBeGreaterThan(0);
    expect(textOf(first![0]!).length).toBeLessThan(DEMO_ANSWER.length);
    for (const batch of batches) {
      expect(batch.filter((e) => textOf(e) !== '').length).toBeLessThanOrEqual(1);
    }
    expect(batches.flat().map(textOf).join('')).toBe(DEMO_ANSWER);
    expect(batches.at(-1)!.at(-1)).toEqual({ type: 'done' });
    // Only the last batch ends the answer.
    for (const batch of batches.slice(0, -1)) expect(batch.at(-1)!.type).toBe('chunk');
  });

  it('gathers a fast model’s tokens: far fewer batches than tokens', async () => {
    const batches = await batchesOf('completions', {
      model: 'demo',
      stream: true,
      prompt: 'a',
      max_tokens: 300,
      temperature: 0,
      stream_options: { include_usage: true },
    });
    const usage = batches.flat().find((e) => e.type === 'chunk' && e.data.usage != null);
    const tokens = (usage as unknown as { data: { usage: { completion_tokens: number } } }).data
      .usage.completion_tokens;
    expect(tokens).toBe(300);
    // A 50 ms window holds two tokens or more at any speed above 40 tokens/s.
    expect(batches.length).toBeLessThan(tokens / 2);
    // The same text as the engine's own tokens.
    let direct = '';
    for await (const event of engine.complete('a', { maxTokens: 300, temperature: 0 })) {
      if (event.type === 'token') direct += event.text;
    }
    expect(batches.flat().map(textOf).join('')).toBe(direct);
  });

  it('answers a non-streamed request and a bad one in a single batch', async () => {
    const result = await batchesOf('chat.completions', {
      model: 'demo',
      messages: [{ role: 'user', content: 'Hello' }],
    });
    expect(result).toHaveLength(1);
    expect(result[0]).toHaveLength(1);
    expect(result[0]![0]!.type).toBe('result');
    const bad = await batchesOf('chat.completions', { model: 'demo', messages: 'nope' });
    expect(bad).toEqual([[expect.objectContaining({ type: 'error', status: 400 })]]);
    const unknown = await batchesOf('chat.completions', {
      model: 'no-such-model',
      messages: [{ role: 'user', content: 'x' }],
    });
    expect(unknown).toEqual([[expect.objectContaining({ type: 'error', status: 404 })]]);
  });
});
