// The official `openai` npm client, unmodified, against a running node on the demo model.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { DEMO_ANSWER, startTestNode, type TestNode } from '../../helpers/node.js';

let node: TestNode;
let client: OpenAI;

beforeAll(async () => {
  node = await startTestNode();
  client = new OpenAI({ baseURL: node.apiUrl, apiKey: 'unused', maxRetries: 0 });
});
afterAll(() => node?.dispose());

describe('models', () => {
  it('lists and retrieves the served model', async () => {
    const list = await client.models.list();
    expect(list.data.map((m) => m.id)).toEqual(['demo']);
    const demo = await client.models.retrieve('demo');
    expect(demo).toMatchObject({ id: 'demo', object: 'model', owned_by: 'token.place' });
    expect(
      (demo as unknown as { tokenplace: { served_by: string; providers: number } }).tokenplace,
    ).toMatchObject({
      served_by: 'this-node',
      providers: 1,
    });
  });

  it('answers 404 model_not_found for an unknown model', async () => {
    const err = await client.models.retrieve('no-such-model').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect((err as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('model_not_found');
  });
});

describe('chat completions', () => {
  it('returns the demo model answer exactly, with finish_reason and real usage', async () => {
    const res = await client.chat.completions.create({
      model: 'demo',
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'Say hello' },
      ],
    });
    expect(res.object).toBe('chat.completion');
    expect(res.choices[0]!.message).toMatchObject({ role: 'assistant', content: DEMO_ANSWER });
    expect(res.choices[0]!.finish_reason).toBe('stop');
    expect(res.usage!.prompt_tokens).toBeGreaterThan(5);
    expect(res.usage!.completion_tokens).toBeGreaterThanOrEqual(9);
    expect(res.usage!.total_tokens).toBe(res.usage!.prompt_tokens + res.usage!.completion_tokens);
  });

  it('streams chunks one by one, ends with finish_reason, usage and [DONE]', async () => {
    const stream = await client.chat.completions.create({
      model: 'demo',
      messages: [{ role: 'user', content: 'Hello' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const contents: string[] = [];
    const finish: Array<string | null> = [];
    let usage: OpenAI.CompletionUsage | null | undefined;
    const ids = new Set<string>();
    for await (const chunk of stream) {
      ids.add(chunk.id);
      expect(chunk.object).toBe('chat.completion.chunk');
      if (chunk.usage != null) usage = chunk.usage;
      const choice = chunk.choices[0];
      if (choice == null) continue;
      if (choice.delta.content) contents.push(choice.delta.content);
      finish.push(choice.finish_reason);
    }
    // The first token goes out alone, at once; the demo model's other tokens come within
    // the streaming window, so they share the next chunk (see InferenceService).
    expect(contents.length).toBeGreaterThanOrEqual(2);
    expect(contents[0]!.length).toBeLessThan(DEMO_ANSWER.length);
    expect(contents.join('')).toBe(DEMO_ANSWER);
    expect(finish.at(-1)).toBe('stop');
    expect(finish.slice(0, -1).every((f) => f === null)).toBe(true);
    expect(usage!.completion_tokens).toBeGreaterThanOrEqual(9);
    expect(ids.size).toBe(1);
  });

  it('sends the SSE terminator data: [DONE] on the wire', async () => {
    const res = await fetch(`${node.apiUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'demo',
        stream: true,
        messages: [{ role: 'user', content: 'x' }],
      }),
    });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const text = await res.text();
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    // First token, the rest of the text, finish_reason.
    expect(text.match(/^data: \{/gm)!.length).toBeGreaterThanOrEqual(3);
  });

  it('honours max_tokens with finish_reason length', async () => {
    const res = await client.chat.completions.create({
      model: 'demo',
      messages: [{ role: 'user', content: 'x' }],
      max_tokens: 3,
    });
    expect(res.choices[0]!.message.content).toBe('Hello! I');
    expect(res.choices[0]!.finish_reason).toBe('length');
    expect(res.usage!.completion_tokens).toBe(3);
  });

  it('honours stop sequences (the stop text is not part of the answer)', async () => {
    const res = await client.chat.completions.create({
      model: 'demo',
      messages: [{ role: 'user', content: 'x' }],
      stop: [' tiny'],
    });
    expect(res.choices[0]!.message.content).toBe('Hello! I am a');
    expect(res.choices[0]!.finish_reason).toBe('stop');
  });

  it('works under /api/v1 as well', async () => {
    const alt = new OpenAI({
      baseURL: node.apiUrl.replace(/\/v1$/, '/api/v1'),
      apiKey: 'unused',
      maxRetries: 0,
    });
    const res = await alt.chat.completions.create({
      model: 'demo',
      messages: [{ role: 'user', content: 'x' }],
    });
    expect(res.choices[0]!.message.content).toBe(DEMO_ANSWER);
  });
});

describe('legacy completions', () => {
  it('continues letters exactly and stops at max_tokens', async () => {
    const res = await client.completions.create({
      model: 'demo',
      prompt: 'abc',
      max_tokens: 10,
      temperature: 0,
    });
    expect(res.object).toBe('text_completion');
    expect(res.choices[0]!.text).toBe('defghijklm');
    expect(res.choices[0]!.finish_reason).toBe('length');
    expect(res.usage).toMatchObject({ completion_tokens: 10 });
  });

  it('streams', async () => {
    const stream = await client.completions.create({
      model: 'demo',
      prompt: '7',
      max_tokens: 6,
      stream: true,
    });
    let text = '';
    let last: string | null = null;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.text ?? '';
      last = chunk.choices[0]?.finish_reason ?? last;
    }
    expect(text).toBe('890123');
    // The first token at once, the rest of the text, then finish_reason.
    expect(chunks).toBeGreaterThanOrEqual(3);
    expect(last).toBe('length');
  });

  it('echo prepends the prompt', async () => {
    const res = await client.completions.create({
      model: 'demo',
      prompt: 'xyz',
      max_tokens: 3,
      echo: true,
    });
    expect(res.choices[0]!.text).toBe('xyzabc');
  });
});

describe('sampling parameters', () => {
  it('seed + temperature 0 give the same answer twice on the random-weights model', async () => {
    const random = await startTestNode({ model: 'demo-random' });
    try {
      const c = new OpenAI({ baseURL: random.apiUrl, apiKey: 'x', maxRetries: 0 });
      const ask = () =>
        c.completions.create({
          model: 'demo-random',
          prompt: 'Once upon',
          max_tokens: 24,
          temperature: 0,
          seed: 42,
        });
      const [a, b] = [await ask(), await ask()];
      expect(a.choices[0]!.text.length).toBeGreaterThan(0);
      expect(b.choices[0]!.text).toBe(a.choices[0]!.text);
      const sampled = () =>
        c.completions.create({
          model: 'demo-random',
          prompt: 'Once upon',
          max_tokens: 24,
          temperature: 1.2,
          seed: 7,
        });
      const [s1, s2] = [await sampled(), await sampled()];
      expect(s2.choices[0]!.text).toBe(s1.choices[0]!.text);
    } finally {
      await random.dispose();
    }
  });

  it('response_format json_object yields parseable JSON', async () => {
    const res = await client.chat.completions.create({
      model: 'demo',
      messages: [{ role: 'user', content: 'give me json' }],
      response_format: { type: 'json_object' },
      max_tokens: 64,
    });
    const content = res.choices[0]!.message.content ?? '';
    if (res.choices[0]!.finish_reason === 'stop') expect(() => JSON.parse(content)).not.toThrow();
    expect(content.trimStart().startsWith('{')).toBe(true);
  });
});
