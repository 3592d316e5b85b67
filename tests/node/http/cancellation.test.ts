// Cancellation, concurrency and back-pressure through the HTTP API.
import { afterEach, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { DEMO_ANSWER, startTestNode, type TestNode } from '../../helpers/node.js';

let node: TestNode | undefined;
afterEach(async () => {
  await node?.dispose();
  node = undefined;
});

/** A stream that never ends on its own: the demo model counts letters forever. */
function endless(client: OpenAI, signal?: AbortSignal) {
  return client.completions.create(
    { model: 'demo', prompt: 'a', max_tokens: 100_000, stream: true },
    signal != null ? { signal } : {},
  );
}

describe('cancellation', () => {
  it('aborting a stream mid-way frees the sequence: the next request starts at once', async () => {
    node = await startTestNode({ maxConcurrency: 1, maxQueue: 4 });
    const client = new OpenAI({ baseURL: node.apiUrl, apiKey: 'x', maxRetries: 0 });
    const controller = new AbortController();
    const stream = await endless(client, controller.signal);
    let received = 0;
    // The openai client ends the iteration quietly when its signal aborts.
    for await (const chunk of stream) {
      if (chunk.choices[0]?.text) received++;
      if (received === 20) {
        controller.abort();
        break;
      }
    }
    expect(received).toBe(20);
    await expect.poll(() => node!.engine!.load().active, { timeout: 2_000 }).toBe(0);
    // With one sequence, this would wait forever if the aborted generation kept it.
    const started = performance.now();
    const res = await client.chat.completions.create(
      { model: 'demo', messages: [{ role: 'user', content: 'x' }] },
      { timeout: 10_000 },
    );
    expect(res.choices[0]!.message.content).toBe(DEMO_ANSWER);
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(node.engine!.load()).toMatchObject({ active: 0, queued: 0 });
  });

  it('8 parallel streams all finish', async () => {
    node = await startTestNode({ maxConcurrency: 2, maxQueue: 16 });
    const client = new OpenAI({ baseURL: node.apiUrl, apiKey: 'x', maxRetries: 0 });
    const results = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const stream = await client.completions.create({
          model: 'demo',
          prompt: String(i),
          max_tokens: 30,
          stream: true,
        });
        let text = '';
        for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
        return { i, text };
      }),
    );
    for (const { i, text } of results) {
      const expected = Array.from({ length: 30 }, (_, k) => String((i + 1 + k) % 10)).join('');
      expect(text).toBe(expected);
    }
  });

  it('a full queue answers 429 with Retry-After, and recovers', async () => {
    node = await startTestNode({ maxConcurrency: 1, maxQueue: 1 });
    const client = new OpenAI({ baseURL: node.apiUrl, apiKey: 'x', maxRetries: 0 });
    const controllers = [new AbortController(), new AbortController()];
    const running = await endless(client, controllers[0]!.signal); // takes the only sequence
    const first = running[Symbol.asyncIterator]();
    await first.next();
    const queued = endless(client, controllers[1]!.signal).catch(() => undefined); // waits in the queue
    await expect.poll(() => node!.engine!.load().queued, { timeout: 5_000 }).toBe(1);
    const res = await fetch(`${node.apiUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'demo', messages: [{ role: 'user', content: 'x' }] }),
    });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const json = (await res.json()) as { error: { code: string; type: string } };
    expect(json.error).toMatchObject({ code: 'rate_limit_exceeded', type: 'rate_limit_error' });
    controllers.forEach((c) => c.abort());
    await queued;
    await expect
      .poll(() => node!.engine!.load(), { timeout: 5_000 })
      .toMatchObject({ active: 0, queued: 0 });
    const ok = await client.chat.completions.create({
      model: 'demo',
      messages: [{ role: 'user', content: 'x' }],
    });
    expect(ok.choices[0]!.message.content).toBe(DEMO_ANSWER);
  });
});
