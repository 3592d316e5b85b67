// The HTTP API as a plain fetch handler (`app.fetch`, no Node socket underneath): the
// node serves it through @hono/node-server, which streams answers straight to the socket,
// but the app also streams on its own, as a web Response, wherever it is mounted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { createEngine, type Engine } from '../../../node/engine/index.js';
import { createHttpApi } from '../../../node/http/app.js';
import { Keyring } from '../../../node/keyring.js';
import { InferenceService } from '../../../node/service.js';
import { ReplayGuard } from '../../../protocol/index.js';
import { DEMO_ANSWER } from '../../helpers/node.js';

let dataDir: string;
let engine: Engine;
let keyring: Keyring;
let app: ReturnType<typeof createHttpApi>;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'tokenplace-test-'));
  engine = await createEngine({ model: 'demo', dataDir, maxConcurrency: 2 });
  const identity = await generateKeyPair('Ed25519');
  const peerId = peerIdFromPrivateKey(identity).toString();
  keyring = new Keyring({ identity, peerId });
  await keyring.start();
  app = createHttpApi({
    service: new InferenceService({ engine }),
    keyring,
    replay: new ReplayGuard(),
    peerId,
  });
});
afterAll(async () => {
  keyring?.stop();
  await engine?.close();
  await rm(dataDir, { recursive: true, force: true });
});

function post(body: unknown): Promise<Response> {
  return Promise.resolve(
    app.fetch(
      new Request('http://localhost/v1/chat/completions', {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: 'http://localhost:5173' },
        body: JSON.stringify(body),
      }),
    ),
  );
}

interface Chunk {
  choices: Array<{ delta?: { content?: string }; finish_reason: string | null }>;
  usage?: { completion_tokens: number } | null;
}

describe('app.fetch', () => {
  it('streams server-sent events as a web Response, ending with [DONE]', async () => {
    const res = await post({
      model: 'demo',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    expect(res.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    const events = (await res.text())
      .split('\n\n')
      .filter((e) => e !== '')
      .map((e) => e.replace(/^data: /, ''));
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as Chunk);
    const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
    expect(text).toBe(DEMO_ANSWER);
    expect(chunks.at(-2)!.choices[0]?.finish_reason).toBe('stop');
    expect(chunks.at(-1)!.usage!.completion_tokens).toBeGreaterThan(0);
  });

  it('cancelling the body stops the generation and frees the sequence', async () => {
    // The demo model continues letters without end: only the cancel can stop it.
    const res = await Promise.resolve(
      app.fetch(
        new Request('http://localhost/v1/completions', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'demo', prompt: 'a', max_tokens: 100_000, stream: true }),
        }),
      ),
    );
    const reader = res.body!.getReader();
    expect((await reader.read()).done).toBe(false);
    expect(engine.load().active).toBe(1);
    await reader.cancel();
    await expect.poll(() => engine.load().active, { timeout: 2_000 }).toBe(0);
  });
});
