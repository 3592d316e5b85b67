import { disable, enable } from '@libp2p/logger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../../node/engine/index.js';
import type { Engine } from '../../../node/engine/index.js';
import { DEMO_MODEL_SHA256 } from '../../../node/models/index.js';
import { collect, tempDataDir } from './helpers.js';

describe('sampling on the random-weights demo model', () => {
  let engine: Engine;
  let data: { dir: string; cleanup(): Promise<void> };

  beforeAll(async () => {
    data = await tempDataDir('sampling');
    engine = await createEngine({ model: 'demo-random', dataDir: data.dir });
  });
  afterAll(async () => {
    await engine?.close();
    await data?.cleanup();
  });

  const sample = async (seed: number | undefined, temperature = 1): Promise<string> => {
    const { text, end } = await collect(
      engine.complete('The', {
        maxTokens: 24,
        temperature,
        ...(seed === undefined ? {} : { seed }),
      }),
    );
    expect(end.usage.completionTokens).toBe(24);
    return text;
  };

  it('is the random variant', () => {
    expect(engine.model).toMatchObject({
      id: 'demo-random',
      builtIn: true,
      ggufSha256: DEMO_MODEL_SHA256.random,
    });
  });

  it('reproduces a sampled answer with the same seed and temperature', async () => {
    const first = await sample(1234);
    const second = await sample(1234);
    expect(second).toBe(first);
    // …and the seed matters: other seeds do not all give that same text.
    const others = await Promise.all([1, 2, 3, 4].map((seed) => sample(seed)));
    expect(others.some((text) => text !== first)).toBe(true);
  });

  it('is deterministic at temperature 0 whatever the seed', async () => {
    const a = await sample(1, 0);
    const b = await sample(99, 0);
    expect(b).toBe(a);
  });

  it('applies presence and frequency penalties (off by default)', async () => {
    const plain = await collect(engine.complete('The', { maxTokens: 48, temperature: 0 }));
    const again = await collect(
      engine.complete('The', { maxTokens: 48, temperature: 0, presencePenalty: 0 }),
    );
    const penalized = await collect(
      engine.complete('The', {
        maxTokens: 48,
        temperature: 0,
        presencePenalty: 2,
        frequencyPenalty: 2,
      }),
    );
    expect(again.text).toBe(plain.text);
    expect(penalized.text).not.toBe(plain.text);
  });

  it('generates hundreds of tokens per second with one thread', async () => {
    const started = performance.now();
    const { end } = await collect(engine.complete('The', { maxTokens: 400, temperature: 0 }));
    const seconds = (performance.now() - started) / 1000;
    const rate = end.usage.completionTokens / seconds;
    console.log(
      `demo-random, 1 thread: ${rate.toFixed(0)} tok/s (400 tokens), load ${engine.model.loadMs} ms`,
    );
    expect(end.usage.completionTokens).toBe(400);
    expect(rate).toBeGreaterThan(20); // measured ~1,000 tok/s; a floor far below, for busy CI
  });
});

describe('logging', () => {
  it('never logs prompts or generated text, even with every namespace enabled', async () => {
    const data = await tempDataDir('logging');
    const written: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
      written.push(text);
      // Keep the test's output readable: swallow the debug lines this test switched on.
      if (text.includes('tokenplace:')) return true;
      return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof process.stderr.write;
    enable('tokenplace:*');
    try {
      const engine = await createEngine({ model: 'demo', dataDir: data.dir });
      const chat = await collect(
        engine.chat([
          { role: 'system', content: 'SECRET-SYSTEM-7731' },
          { role: 'user', content: 'SECRET-PROMPT-4242' },
        ]),
      );
      const completion = await collect(engine.complete('SECRET-COMPLETION-abc', { maxTokens: 8 }));
      await engine.close();
      const log = written.join('');
      expect(log).toContain('engine ready'); // logging was on…
      for (const secret of [
        'SECRET-SYSTEM-7731',
        'SECRET-PROMPT-4242',
        'SECRET-COMPLETION',
        chat.text,
        completion.text,
      ]) {
        expect(log).not.toContain(secret); // …and said nothing about content
      }
    } finally {
      disable();
      process.stderr.write = write;
      await data.cleanup();
    }
  });
});
