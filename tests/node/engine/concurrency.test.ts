import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../../node/engine/index.js';
import type { Engine, EngineEvent } from '../../../node/engine/index.js';
import { DEMO_SCRIPTED_REPLY } from '../../../node/models/index.js';
import { collect, tempDataDir } from './helpers.js';

/** Wait until `predicate` holds, polling every millisecond; fail after `ms`. */
async function until(predicate: () => boolean, ms = 2_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** Take `n` token events from a running generation (which keeps running). */
async function take(gen: AsyncGenerator<EngineEvent, void>, n: number): Promise<string> {
  let text = '';
  for (let i = 0; i < n; i++) {
    const { value, done } = await gen.next();
    if (done || value.type !== 'token') throw new Error('generation ended early');
    text += value.text;
  }
  return text;
}

describe('engine concurrency, queueing and aborts', () => {
  let data: { dir: string; cleanup(): Promise<void> };
  const engines: Engine[] = [];
  const open = async (init: { maxConcurrency?: number; maxQueue?: number }): Promise<Engine> => {
    const engine = await createEngine({ model: 'demo', dataDir: data.dir, ...init });
    engines.push(engine);
    return engine;
  };

  beforeAll(async () => {
    data = await tempDataDir('concurrency');
  });
  afterAll(async () => {
    await Promise.all(engines.map((engine) => engine.close()));
    await data?.cleanup();
  });

  it('aborting mid-stream stops at once and frees the sequence for the next request', async () => {
    const engine = await open({ maxConcurrency: 1, maxQueue: 4 });
    const controller = new AbortController();
    const endless = engine.complete('0', { maxTokens: 100_000, signal: controller.signal });
    expect(await take(endless, 5)).toBe('12345');
    expect(engine.load().active).toBe(1);

    // A second request queues behind the only sequence.
    const nextStarted = performance.now();
    const next = collect(engine.complete('abc', { maxTokens: 3 }));
    await until(() => engine.load().queued === 1);

    const reason = new Error('client went away');
    controller.abort(reason);
    await expect(endless.next()).rejects.toBe(reason);
    const result = await next;
    expect(result.text).toBe('def');
    expect(performance.now() - nextStarted).toBeLessThan(1_000);
    expect(engine.load()).toEqual({ active: 0, queued: 0, maxConcurrency: 1 });
  });

  it('stopping iteration early (break) also frees the sequence', async () => {
    const engine = await open({ maxConcurrency: 1, maxQueue: 0 });
    for await (const event of engine.complete('a', { maxTokens: 100_000 })) {
      if (event.type === 'token') break;
    }
    await until(() => engine.load().active === 0);
    expect((await collect(engine.complete('x', { maxTokens: 2 }))).text).toBe('yz');
  });

  it('aborting a queued request takes it out of the queue without touching the running one', async () => {
    const engine = await open({ maxConcurrency: 1, maxQueue: 4 });
    const runningCtl = new AbortController();
    const running = engine.complete('a', { maxTokens: 100_000, signal: runningCtl.signal });
    await take(running, 1);

    const queuedCtl = new AbortController();
    const queued = engine.chat([{ role: 'user', content: 'hi' }], { signal: queuedCtl.signal });
    const first = queued.next();
    await until(() => engine.load().queued === 1);
    queuedCtl.abort(new Error('gave up waiting'));
    await expect(first).rejects.toThrow('gave up waiting');
    expect(engine.load()).toEqual({ active: 1, queued: 0, maxConcurrency: 1 });

    expect(await take(running, 3)).toHaveLength(3); // still generating
    runningCtl.abort();
    await expect(running.next()).rejects.toMatchObject({ name: 'AbortError' });
    await until(() => engine.load().active === 0);
  });

  it('refuses with EngineBusyError before any token when the queue is full', async () => {
    const engine = await open({ maxConcurrency: 1, maxQueue: 1 });
    const ctl = new AbortController();
    const busy = engine.complete('a', { maxTokens: 100_000, signal: ctl.signal });
    await take(busy, 1);
    const waiting = collect(engine.chat([{ role: 'user', content: 'hi' }]));
    await until(() => engine.load().queued === 1);

    const refused = engine.chat([{ role: 'user', content: 'hi' }]);
    const error = await refused.next().then(
      () => ({ name: 'no error', retryAfterMs: -1 }),
      (err: unknown) => err as Error & { retryAfterMs: number },
    );
    expect(error).toMatchObject({ name: 'EngineBusyError' });
    expect(error.retryAfterMs).toBeGreaterThanOrEqual(1_000);
    expect(error.retryAfterMs).toBeLessThanOrEqual(60_000);
    expect(await refused.next()).toEqual({ done: true, value: undefined });

    ctl.abort();
    expect((await waiting).text).toBe(DEMO_SCRIPTED_REPLY);
  });

  it('runs 8 concurrent requests, 2 at a time, and all of them finish correctly', async () => {
    const engine = await open({ maxConcurrency: 2 });
    let maxActive = 0;
    let maxQueued = 0;
    const sample = setInterval(() => {
      const { active, queued } = engine.load();
      maxActive = Math.max(maxActive, active);
      maxQueued = Math.max(maxQueued, queued);
    }, 1);
    const prompts = ['a', 'b', 'c', 'd', '0', '1', '2', '3'];
    const started = prompts.map((prompt) => collect(engine.complete(prompt, { maxTokens: 40 })));
    const results = await Promise.all(started);
    clearInterval(sample);
    const expected = (p: string): string => {
      const alphabet = /\d/.test(p) ? '0123456789' : 'abcdefghijklmnopqrstuvwxyz';
      let out = '';
      let i = alphabet.indexOf(p);
      for (let n = 0; n < 40; n++) out += alphabet[(i = (i + 1) % alphabet.length)];
      return out;
    };
    results.forEach((result, i) => {
      expect(result.text).toBe(expected(prompts[i]!));
      expect(result.end).toMatchObject({ finishReason: 'length', usage: { completionTokens: 40 } });
    });
    expect(maxActive).toBe(2);
    expect(maxQueued).toBeGreaterThanOrEqual(1);
    expect(engine.load()).toEqual({ active: 0, queued: 0, maxConcurrency: 2 });
  });

  it('close() aborts running and queued requests and refuses new ones', async () => {
    const engine = await open({ maxConcurrency: 1, maxQueue: 2 });
    const running = engine.complete('a', { maxTokens: 100_000 });
    await take(running, 2);
    const queued = engine
      .complete('b', { maxTokens: 5 })
      .next()
      .catch((err: unknown) => err);
    await until(() => engine.load().queued === 1);
    await engine.close();
    expect(await queued).toMatchObject({ name: 'EngineClosedError' });
    await expect(running.next()).rejects.toMatchObject({ name: 'EngineClosedError' });
    await expect(engine.chat([{ role: 'user', content: 'hi' }]).next()).rejects.toMatchObject({
      name: 'EngineClosedError',
    });
    await engine.close(); // idempotent
  });
});
