import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../../node/engine/index.js';
import type { Engine, EngineEvent } from '../../../node/engine/index.js';
import { DEMO_MODEL_SHA256, DEMO_SCRIPTED_REPLY } from '../../../node/models/index.js';
import { collect, tempDataDir } from './helpers.js';

describe('engine on the scripted demo model', () => {
  let engine: Engine;
  let cleanup: () => Promise<void>;
  const progress: Array<{ phase: string; fraction: number }> = [];

  beforeAll(async () => {
    const data = await tempDataDir('chat');
    cleanup = data.cleanup;
    engine = await createEngine({
      model: 'demo',
      dataDir: data.dir,
      onProgress: (p) => progress.push(p),
    });
  });
  afterAll(async () => {
    await engine?.close();
    await cleanup?.();
  });

  it('describes itself: built-in demo model on the CPU, 2 sequences', () => {
    expect(engine.model).toMatchObject({
      id: 'demo',
      family: 'llama',
      quantization: 'F32',
      contextLength: 512,
      ggufSha256: DEMO_MODEL_SHA256.scripted,
      builtIn: true,
    });
    expect(engine.model.path).toMatch(/demo-scripted\.gguf$/);
    expect(engine.model.loadMs).toBeGreaterThanOrEqual(0);
    expect(engine.backend).toBe('cpu');
    expect(engine.gpuName).toBeNull();
    expect(engine.maxConcurrency).toBe(2);
    expect(engine.contextSize).toBe(512);
    expect(engine.threads).toBe(1);
    expect(engine.load()).toEqual({ active: 0, queued: 0, maxConcurrency: 2 });
    expect(progress.at(-1)).toEqual({ phase: 'load', fraction: 1 });
    expect(progress.every((p) => p.phase === 'load')).toBe(true);
  });

  it('answers a chat with the scripted reply, streamed, with real usage', async () => {
    const result = await collect(engine.chat([{ role: 'user', content: 'hi' }], {}));
    expect(result.text).toBe(DEMO_SCRIPTED_REPLY);
    expect(result.tokens).toEqual([
      'Hello',
      '!',
      ' I',
      ' am',
      ' a',
      ' tiny',
      ' test',
      ' model',
      '.',
    ]);
    expect(result.end.finishReason).toBe('stop');
    // <|endoftext|> <|im_start|> user \n h i <|im_end|> \n <|im_start|> assistant \n
    expect(result.end.usage.promptTokens).toBe(11);
    // 9 visible tokens + the end-of-turn token
    expect(result.end.usage.completionTokens).toBe(10);
  });

  it('uses multi-turn history and system/developer messages as given', async () => {
    const short = await collect(engine.chat([{ role: 'user', content: 'hi' }]));
    const long = await collect(
      engine.chat([
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: 'Hello! I am a tiny test model.' },
        { role: 'developer', content: 'Answer again.' },
        { role: 'user', content: 'again' },
      ]),
    );
    expect(long.text).toBe(DEMO_SCRIPTED_REPLY);
    // No default system prompt is added: the short prompt is exactly the 11 tokens above,
    // and every extra message adds its own tokens.
    expect(short.end.usage.promptTokens).toBe(11);
    expect(long.end.usage.promptTokens).toBeGreaterThan(40);
  });

  it('completes raw text: abc → defghijklm, ended by maxTokens', async () => {
    const result = await collect(engine.complete('abc', { maxTokens: 10 }));
    expect(result.text).toBe('defghijklm');
    expect(result.tokens).toHaveLength(10);
    expect(result.end).toEqual({
      type: 'end',
      finishReason: 'length',
      usage: { promptTokens: 3, completionTokens: 10 },
      timing: { firstTokenMs: expect.any(Number), lastTokenMs: expect.any(Number) },
    });
  });

  it('says when the text came out: first and last token, ms since the generation started', async () => {
    const started = performance.now();
    const events = engine.complete('abc', { maxTokens: 40 });
    const seen: number[] = [];
    let end: Extract<EngineEvent, { type: 'end' }> | undefined;
    for await (const event of events) {
      if (event.type === 'token') seen.push(performance.now() - started);
      else end = event;
    }
    const { firstTokenMs, lastTokenMs } = end!.timing;
    expect(firstTokenMs).toBeGreaterThanOrEqual(0);
    // 40 tokens take a while: the last one comes well after the first.
    expect(lastTokenMs!).toBeGreaterThan(firstTokenMs!);
    // Measured where the tokens are made, so never after this consumer saw them.
    expect(firstTokenMs!).toBeLessThanOrEqual(seen[0]!);
    expect(lastTokenMs!).toBeLessThanOrEqual(seen.at(-1)!);
  });

  it('ends a chat at maxTokens with finishReason length', async () => {
    const result = await collect(engine.chat([{ role: 'user', content: 'hi' }], { maxTokens: 3 }));
    expect(result.text).toBe('Hello! I');
    expect(result.end.finishReason).toBe('length');
    expect(result.end.usage.completionTokens).toBe(3);
  });

  it('stops at a stop sequence, leaving the stop text out', async () => {
    const chat = await collect(engine.chat([{ role: 'user', content: 'hi' }], { stop: [' tiny'] }));
    expect(chat.text).toBe('Hello! I am a');
    expect(chat.end.finishReason).toBe('stop');
    // A stop text inside a single token ("Hello" holds "ll") cuts that token too.
    const inside = await collect(
      engine.chat([{ role: 'user', content: 'hi' }], { stop: ['ll', 'zzz'] }),
    );
    expect(inside.text).toBe('He');
    const completion = await collect(engine.complete('abc', { maxTokens: 10, stop: ['h'] }));
    expect(completion.text).toBe('defg');
    expect(completion.end.finishReason).toBe('stop');
  });

  it('forces JSON with response_format json_object', async () => {
    const result = await collect(
      engine.chat([{ role: 'user', content: 'hi' }], {
        responseFormat: { type: 'json_object' },
        maxTokens: 50,
      }),
    );
    expect(JSON.parse(result.text)).toEqual({});
    expect(result.end.finishReason).toBe('stop');
  });

  it('follows a supported JSON schema', async () => {
    const result = await collect(
      engine.chat([{ role: 'user', content: 'hi' }], {
        responseFormat: {
          type: 'json_schema',
          schema: {
            $schema: 'https://json-schema.org/draft/2020-12/schema',
            title: 'Answer',
            type: 'object',
            properties: { ok: { const: true }, kind: { enum: ['demo'] } },
            required: ['ok', 'kind'],
            additionalProperties: false,
          },
        },
        maxTokens: 60,
      }),
    );
    expect(JSON.parse(result.text)).toEqual({ ok: true, kind: 'demo' });
    expect(result.end.finishReason).toBe('stop');
  });

  it('refuses an unsupported JSON schema before any token, naming the keyword', async () => {
    const events = engine.chat([{ role: 'user', content: 'hi' }], {
      responseFormat: {
        type: 'json_schema',
        schema: { type: 'object', properties: { code: { type: 'string', pattern: '^[A-Z]+$' } } },
      },
    });
    await expect(events.next()).rejects.toMatchObject({
      name: 'InvalidRequestError',
      param: 'responseFormat',
      message: expect.stringContaining('#/properties/code/pattern'),
    });
    for (const schema of [{ type: 'number', minimum: 1 }, { $ref: '#/definitions/x' }, {}]) {
      await expect(
        engine
          .chat([{ role: 'user', content: 'hi' }], {
            responseFormat: { type: 'json_schema', schema },
          })
          .next(),
      ).rejects.toMatchObject({ name: 'InvalidRequestError' });
    }
    expect(engine.load().active).toBe(0);
  });

  it('refuses bad options and bad messages with InvalidRequestError naming the parameter', async () => {
    const cases: Array<[() => AsyncGenerator<unknown>, string]> = [
      [() => engine.chat([{ role: 'user', content: 'hi' }], { temperature: 3 }), 'temperature'],
      [() => engine.chat([{ role: 'user', content: 'hi' }], { topP: -0.1 }), 'topP'],
      [() => engine.chat([{ role: 'user', content: 'hi' }], { maxTokens: 0 }), 'maxTokens'],
      [() => engine.chat([{ role: 'user', content: 'hi' }], { stop: [''] }), 'stop'],
      [() => engine.chat([{ role: 'user', content: 'hi' }], { seed: 1.5 }), 'seed'],
      [
        () => engine.chat([{ role: 'user', content: 'hi' }], { presencePenalty: 2.5 }),
        'presencePenalty',
      ],
      [() => engine.chat([], {}), 'messages'],
      [() => engine.chat([{ role: 'tool' as 'user', content: 'x' }], {}), 'messages'],
      [() => engine.complete('', {}), 'prompt'],
    ];
    for (const [start, param] of cases) {
      await expect(start().next()).rejects.toMatchObject({ name: 'InvalidRequestError', param });
    }
  });

  it('refuses a prompt longer than the context', async () => {
    await expect(engine.complete('a'.repeat(600), { maxTokens: 1 }).next()).rejects.toMatchObject({
      name: 'InvalidRequestError',
      param: 'prompt',
      message: expect.stringContaining('512'),
    });
  });

  it('reuses cleared sequences: many requests in a row give identical answers', async () => {
    for (let i = 0; i < 5; i++) {
      const result = await collect(engine.complete('7', { maxTokens: 6 }));
      expect(result.text).toBe('890123');
      expect(result.end.usage.promptTokens).toBe(1);
    }
    expect(engine.load()).toEqual({ active: 0, queued: 0, maxConcurrency: 2 });
  });
});

describe('engine on the endless demo model', () => {
  it('never ends its reply by itself: it loops until max tokens (or the client stops it)', async () => {
    const data = await tempDataDir('endless');
    const engine = await createEngine({ model: 'demo-endless', dataDir: data.dir });
    try {
      expect(engine.model).toMatchObject({
        id: 'demo-endless',
        ggufSha256: DEMO_MODEL_SHA256.endless,
        builtIn: true,
      });
      let text = '';
      let end: unknown;
      for await (const event of engine.chat([{ role: 'user', content: 'hi' }], { maxTokens: 40 })) {
        if (event.type === 'token') text += event.text;
        else end = event;
      }
      expect(text.startsWith(`${DEMO_SCRIPTED_REPLY} I am a tiny test model. I am`)).toBe(true);
      expect(end).toMatchObject({ finishReason: 'length', usage: { completionTokens: 40 } });
    } finally {
      await engine.close();
      await data.cleanup();
    }
  });
});
