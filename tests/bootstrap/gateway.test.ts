// The OpenAI HTTP gateway against real libp2p test peers on loopback: plain mode (the
// official openai client, JSON and SSE, failover, a node dying mid-answer) and encrypted
// mode (token.place/client through per-node base URLs), and what the gateway can see.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { TokenPlaceClient } from '../../node/client/index.js';
import { verifyModelCard } from '../../protocol/index.js';
import { enable } from '@libp2p/logger';
import type { TapDirection, TapSource } from '../../bootstrap/tap.js';
import { configureLogging } from '../../protocol/index.js';
import {
  eventually,
  startTestBootstrap,
  startTestPeer,
  TEST_PEER_ANSWER,
  type TestBootstrap,
  type TestPeer,
} from './helpers.js';

let bootstrap: TestBootstrap;
let peer: TestPeer;
let openai: OpenAI;

/** What the bootstrap saw in the clear, while `recording` is on. */
const seen = new Map<string, Buffer[]>();
let recording = false;
function sawText(text: string, source?: TapSource): boolean {
  const needle = Buffer.from(text);
  return [...seen.entries()].some(
    ([key, chunks]) =>
      (source == null || key.startsWith(source)) && Buffer.concat(chunks).includes(needle),
  );
}

beforeAll(async () => {
  bootstrap = await startTestBootstrap({
    tap: (direction: TapDirection, bytes: Uint8Array, source: TapSource) => {
      if (!recording) return;
      const key = `${source}:${direction}`;
      seen.set(key, [...(seen.get(key) ?? []), Buffer.from(bytes)]);
    },
  });
  peer = await startTestPeer({ bootstrap: bootstrap.addr, models: ['demo'] });
  await eventually(() => bootstrap.directory.get(peer.peerId), 'the peer in the directory');
  openai = new OpenAI({
    baseURL: `${bootstrap.httpUrl}/v1`,
    apiKey: 'unused',
    maxRetries: 0,
    timeout: 20_000,
  });
});

afterAll(async () => {
  await peer?.stop();
  await bootstrap?.dispose();
});

async function sse(
  path: string,
  body: Record<string, unknown>,
  signal?: AbortSignal,
): Promise<Response> {
  return fetch(`${bootstrap.httpUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    ...(signal != null ? { signal } : {}),
  });
}

describe('models and nodes', () => {
  it('GET /v1/models lists the mesh models with a provider count, OpenAI list shape', async () => {
    const res = await fetch(`${bootstrap.httpUrl}/v1/models`);
    expect(await res.json()).toEqual({
      object: 'list',
      data: [
        {
          id: 'demo',
          object: 'model',
          created: expect.any(Number),
          owned_by: 'token.place',
          tokenplace: { providers: 1 },
        },
      ],
    });
    const models = await openai.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['demo']);
    const one = await fetch(`${bootstrap.httpUrl}/api/v1/models/demo`);
    expect(((await one.json()) as { id: string }).id).toBe('demo');
  });

  it('GET /v1/nodes lists providers with their raw signed cards', async () => {
    const res = await fetch(`${bootstrap.httpUrl}/v1/nodes`);
    const { data } = (await res.json()) as { data: Array<{ peerId: string; cards: unknown[] }> };
    expect(data.map((n) => n.peerId)).toEqual([peer.peerId]);
    for (const envelope of data[0]!.cards) {
      await expect(verifyModelCard(envelope, peer.peerId)).resolves.toMatchObject({
        peerId: peer.peerId,
      });
    }
  });
});

describe('plain mode', () => {
  it('answers chat completions as JSON through the official openai client', async () => {
    const res = await openai.chat.completions.create({
      model: 'demo',
      messages: [{ role: 'user', content: 'Hello' }],
    });
    expect(res.choices[0]!.message.content).toBe(TEST_PEER_ANSWER);
    const legacy = new OpenAI({
      baseURL: `${bootstrap.httpUrl}/api/v1`,
      apiKey: 'x',
      maxRetries: 0,
    });
    const completion = await legacy.completions.create({ model: 'demo', prompt: 'abc' });
    expect(completion.choices[0]!.text).toBe(TEST_PEER_ANSWER);
  });

  it('streams SSE events ending with [DONE]', async () => {
    const stream = await openai.chat.completions.create({
      model: 'demo',
      messages: [{ role: 'user', content: 'Hello' }],
      stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text).toBe(TEST_PEER_ANSWER);
    const raw = await sse('/v1/completions', { model: 'demo', prompt: 'x', stream: true });
    expect(raw.headers.get('content-type')).toBe('text/event-stream');
    const body = await raw.text();
    expect(body.startsWith('data: {')).toBe(true);
    expect(body.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('answers errors in OpenAI shape', async () => {
    const unknown = await openai.chat.completions
      .create({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
    expect((unknown as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('model_not_found');
    const bad = await fetch(`${bootstrap.httpUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{not json',
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({
      error: {
        message: expect.stringContaining('JSON'),
        type: 'invalid_request_error',
        param: null,
        code: null,
      },
    });
    const noModel = await sse('/v1/chat/completions', { messages: [] });
    expect(noModel.status).toBe(400);
    expect(((await noModel.json()) as { error: { param: string } }).error.param).toBe('model');
  });

  it('fails over to the next provider when the first one fails before answering', async () => {
    // Ranked first (more free sequences), but it crashes on every request.
    const broken = await startTestPeer({
      bootstrap: bootstrap.addr,
      models: ['demo'],
      load: { maxConcurrency: 16 },
      behaviour: 'reset-before-answer',
    });
    try {
      await eventually(() => bootstrap.directory.get(broken.peerId), 'the broken peer listed');
      for (const stream of [false, true]) {
        const before = peer.requests.length;
        if (stream) {
          const chunks = await openai.chat.completions.create({
            model: 'demo',
            messages: [{ role: 'user', content: 'hi' }],
            stream: true,
          });
          let text = '';
          for await (const chunk of chunks) text += chunk.choices[0]?.delta?.content ?? '';
          expect(text).toBe(TEST_PEER_ANSWER);
        } else {
          const res = await openai.chat.completions.create({
            model: 'demo',
            messages: [{ role: 'user', content: 'hi' }],
          });
          expect(res.choices[0]!.message.content).toBe(TEST_PEER_ANSWER);
        }
        expect(peer.requests.length).toBe(before + 1);
      }
      // Ranked first (more free sequences), it was tried for the first request only: having
      // failed, it comes after the other provider for a while.
      expect(broken.resetRequests).toBe(1);
    } finally {
      await broken.stop();
    }
    await eventually(
      () => bootstrap.directory.get(broken.peerId) == null,
      'the broken peer dropped',
    );
  });

  it('sends the retry elsewhere when a client gave up on a provider that held its request', async () => {
    // Ranked first (more free sequences), it opens every request and never answers, while
    // it answers pings: only the client's own timeout ends the wait.
    const silent = await startTestPeer({
      bootstrap: bootstrap.addr,
      models: ['demo'],
      load: { maxConcurrency: 16 },
      behaviour: 'silent',
    });
    try {
      await eventually(() => bootstrap.directory.get(silent.peerId), 'the silent peer listed');
      // The OpenAI client's timeout, then its one retry: past ABANDONED_AFTER_MS (5 s).
      const patient = new OpenAI({
        baseURL: `${bootstrap.httpUrl}/v1`,
        apiKey: 'unused',
        maxRetries: 1,
        timeout: 6_500,
      });
      const before = peer.requests.length;
      const started = Date.now();
      const res = await patient.chat.completions.create({
        model: 'demo',
        messages: [{ role: 'user', content: 'hi' }],
      });
      expect(res.choices[0]!.message.content).toBe(TEST_PEER_ANSWER);
      expect(Date.now() - started).toBeGreaterThanOrEqual(6_500);
      expect(silent.requests).toHaveLength(1);
      expect(peer.requests.length).toBe(before + 1);
      // A client that gave up sooner (a change of mind) counts against nobody.
      const quick = await startTestPeer({
        bootstrap: bootstrap.addr,
        models: ['demo'],
        load: { maxConcurrency: 32 },
        behaviour: 'silent',
      });
      try {
        await eventually(() => bootstrap.directory.get(quick.peerId), 'the second silent peer');
        for (let i = 0; i < 2; i++) {
          await expect(
            sse(
              '/v1/chat/completions',
              { model: 'demo', messages: [{ role: 'user', content: 'hi' }] },
              AbortSignal.timeout(1_000),
            ),
          ).rejects.toThrow();
          await eventually(() => quick.abortedStreams === i + 1, 'the request given up on');
        }
        expect(quick.requests).toHaveLength(2);
      } finally {
        await quick.stop();
      }
    } finally {
      await silent.stop();
    }
    await eventually(
      () => bootstrap.directory.get(silent.peerId) == null,
      'the silent peer dropped',
    );
  });

  it('ends the SSE stream with an OpenAI-shaped error event when the node dies mid-answer', async () => {
    const fragile = await startTestPeer({
      bootstrap: bootstrap.addr,
      models: ['fragile'],
      behaviour: 'die-mid-stream',
    });
    try {
      await eventually(() => bootstrap.directory.get(fragile.peerId), 'the fragile peer listed');
      const res = await sse('/v1/chat/completions', {
        model: 'fragile',
        messages: [{ role: 'user', content: 'hi' }],
        stream: true,
      });
      expect(res.status).toBe(200);
      const events = (await res.text()).split('\n\n').filter((e) => e !== '');
      expect(events.length).toBeGreaterThanOrEqual(2);
      expect(events.at(-1)).not.toBe('data: [DONE]');
      const last = JSON.parse(events.at(-1)!.replace(/^data: /, '')) as {
        error: Record<string, unknown>;
      };
      expect(last.error).toEqual({
        message: expect.any(String),
        type: 'server_error',
        param: null,
        code: 'node_disconnected',
      });
      // The openai client surfaces it as an error.
      const stream = await openai.chat.completions.create({
        model: 'fragile',
        messages: [{ role: 'user', content: 'hi' }],
        stream: true,
      });
      await expect(
        (async () => {
          for await (const _ of stream) void _;
        })(),
      ).rejects.toThrow();
    } finally {
      await fragile.stop();
    }
  });

  it("resets the node's stream when the client goes away (the node stops generating)", async () => {
    const slow = await startTestPeer({
      bootstrap: bootstrap.addr,
      models: ['slow'],
      behaviour: 'slow',
    });
    try {
      await eventually(() => bootstrap.directory.get(slow.peerId), 'the slow peer listed');
      const controller = new AbortController();
      const res = await sse(
        '/v1/chat/completions',
        { model: 'slow', messages: [{ role: 'user', content: 'hi' }], stream: true },
        controller.signal,
      );
      const reader = res.body!.getReader();
      await reader.read();
      controller.abort();
      await eventually(() => slow.abortedStreams === 1, 'the node to see the reset');
    } finally {
      await slow.stop();
    }
  });
});

describe('encrypted mode', () => {
  const base = (peerId: string): string => `${bootstrap.httpUrl}/nodes/${peerId}/v1`;

  it('works with token.place/client unchanged, PeerId pinned', async () => {
    const client = new TokenPlaceClient({ baseURL: base(peer.peerId), peerId: peer.peerId });
    const res = (await client.createChatCompletion({
      model: 'demo',
      messages: [{ role: 'user', content: 'Hello' }],
    })) as { choices: Array<{ message: { content: string } }> };
    expect(res.choices[0]!.message.content).toBe(TEST_PEER_ANSWER);
    let text = '';
    for await (const chunk of client.streamCompletion({ model: 'demo', prompt: 'x' })) {
      text += chunk.choices[0]?.text ?? '';
    }
    expect(text).toBe(TEST_PEER_ANSWER);
    const keys = (await (await fetch(`${base(peer.peerId)}/public-key`)).json()) as {
      peerId: string;
    };
    expect(keys.peerId).toBe(peer.peerId);
  });

  it('refuses a node whose key does not verify against the pinned PeerId', async () => {
    const other = await startTestPeer({
      bootstrap: bootstrap.addr,
      models: ['demo'],
      relay: false,
    });
    try {
      await eventually(() => bootstrap.directory.get(other.peerId), 'the other peer listed');
      // The gateway URL names one node, the client pins another: a swapped key.
      const client = new TokenPlaceClient({ baseURL: base(other.peerId), peerId: peer.peerId });
      await expect(
        client.createChatCompletion({ model: 'demo', messages: [{ role: 'user', content: 'x' }] }),
      ).rejects.toThrow(/signature|PeerId|peer/i);
      expect(other.requests).toHaveLength(0);
    } finally {
      await other.stop();
    }
  });

  it('answers an unknown node with a 404 and malformed sealed bodies with a sealed error frame', async () => {
    const unknown = await fetch(
      `${base('12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo')}/public-key`,
    );
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe(
      'node_not_found',
    );
    const bad = await fetch(`${base(peer.peerId)}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/vnd.tokenplace.sealed-request' },
      body: '{"type":"request"}',
    });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toBe('application/vnd.tokenplace.sealed-response');
    expect(new TextDecoder().decode((await bad.arrayBuffer()).slice(1))).toContain(
      '"code":"bad_message"',
    );
  });

  it('never has the plaintext: a sentinel prompt is in no byte the gateway handled', async () => {
    const sentinel = `SENTINEL-${crypto.randomUUID()}`;
    const client = new TokenPlaceClient({ baseURL: base(peer.peerId), peerId: peer.peerId });
    seen.clear();
    recording = true;
    try {
      const answer = (await client.createChatCompletion({
        model: 'demo',
        messages: [{ role: 'user', content: `Please repeat ${sentinel}` }],
      })) as { choices: Array<{ message: { content: string } }> };
      expect(answer.choices[0]!.message.content).toBe(TEST_PEER_ANSWER);
      for await (const _ of client.streamChatCompletion({
        model: 'demo',
        messages: [{ role: 'user', content: sentinel }],
      }))
        void _;
    } finally {
      recording = false;
    }
    // The node got it; the gateway carried it both over HTTP and over libp2p...
    expect(JSON.stringify(peer.requests.at(-2)?.body)).toContain(sentinel);
    expect(seen.get('http:in')?.length).toBeGreaterThan(0);
    expect(seen.get('libp2p:out')?.length).toBeGreaterThan(0);
    // ...and never saw it, nor the answer, in any byte it handled in the clear.
    expect(sawText(sentinel)).toBe(false);
    expect(sawText(TEST_PEER_ANSWER)).toBe(false);

    // Control: in plain mode the gateway does see the prompt (it is documented so), but
    // even then its libp2p side carries only ciphertext.
    seen.clear();
    recording = true;
    try {
      await openai.chat.completions.create({
        model: 'demo',
        messages: [{ role: 'user', content: sentinel }],
      });
    } finally {
      recording = false;
    }
    expect(sawText(sentinel, 'http')).toBe(true);
    expect(sawText(sentinel, 'libp2p')).toBe(false);
  });

  it('resets the stream when the client goes away, and reports a node dying mid-answer as truncated', async () => {
    const [slow, fragile] = await Promise.all([
      startTestPeer({
        bootstrap: bootstrap.addr,
        models: ['slow'],
        behaviour: 'slow',
        relay: false,
      }),
      startTestPeer({
        bootstrap: bootstrap.addr,
        models: ['fragile'],
        behaviour: 'die-mid-stream',
        relay: false,
      }),
    ]);
    try {
      await eventually(
        () =>
          bootstrap.directory.get(slow.peerId) != null &&
          bootstrap.directory.get(fragile.peerId) != null,
        'both peers listed',
      );
      const controller = new AbortController();
      const client = new TokenPlaceClient({ baseURL: base(slow.peerId), peerId: slow.peerId });
      const stream = client.streamChatCompletion(
        { model: 'slow', messages: [{ role: 'user', content: 'x' }] },
        { signal: controller.signal },
      );
      await stream.next();
      controller.abort();
      await stream.return(undefined).catch(() => {});
      await eventually(() => slow.abortedStreams === 1, 'the node to see the reset');

      const cut = new TokenPlaceClient({ baseURL: base(fragile.peerId), peerId: fragile.peerId });
      const error = await (async () => {
        for await (const _ of cut.streamChatCompletion({
          model: 'fragile',
          messages: [{ role: 'user', content: 'x' }],
        }))
          void _;
      })().catch((e: unknown) => e);
      expect((error as Error).name).toBe('TruncatedResponseError');
    } finally {
      await Promise.all([slow.stop(), fragile.stop()]);
    }
  });

  it('logs no prompt or answer, at debug level, in either mode', async () => {
    const sentinel = `LOGSENTINEL-${crypto.randomUUID()}`;
    const lines: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    configureLogging('debug', {});
    try {
      await openai.chat.completions.create({
        model: 'demo',
        messages: [{ role: 'user', content: sentinel }],
      });
      const client = new TokenPlaceClient({ baseURL: base(peer.peerId), peerId: peer.peerId });
      await client.createChatCompletion({
        model: 'demo',
        messages: [{ role: 'user', content: sentinel }],
      });
      await openai.chat.completions
        .create({ model: 'absent', messages: [{ role: 'user', content: sentinel }] })
        .catch(() => {});
      await bootstrap.directory.refresh();
    } finally {
      enable('');
      process.stderr.write = write;
    }
    const text = lines.join('');
    expect(text).toMatch(/tokenplace:bootstrap/);
    expect(text).not.toContain(sentinel);
    expect(text).not.toContain(TEST_PEER_ANSWER);
  });

  it('counts gateway requests by mode', async () => {
    const metrics = await (await fetch(`${bootstrap.httpUrl}/metrics`)).text();
    expect(
      Number(/^tokenplace_gateway_requests_total\{mode="plain"\} (\d+)$/m.exec(metrics)?.[1]),
    ).toBeGreaterThan(0);
    expect(
      Number(/^tokenplace_gateway_requests_total\{mode="encrypted"\} (\d+)$/m.exec(metrics)?.[1]),
    ).toBeGreaterThan(0);
  });
});
