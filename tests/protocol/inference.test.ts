// The sealed request/response exchange end to end, without a transport.
import { describe, expect, it } from 'vitest';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import {
  errorFrame,
  openInferenceRequest,
  SealAhead,
  sealInferenceRequest,
  type NodeKey,
} from '../../protocol/inference.js';
import {
  generateHpkeKeyPair,
  openWithKey,
  prepareSeal,
  requestInfo,
  type HpkeKeyPair,
} from '../../protocol/hpke.js';
import { ReplayGuard } from '../../protocol/replay.js';
import { fromBase64Url, toBase64Url } from '../../protocol/bytes.js';
import { MAX_CLOCK_SKEW_MS } from '../../protocol/constants.js';
import type { NodeToClientInferenceMessage, ResponseEvent } from '../../protocol/messages.js';

async function setup() {
  const peerId = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString();
  const hpke = await generateHpkeKeyPair();
  const nodeKey: NodeKey = { peerId, keyId: hpke.keyId, publicKeyBytes: hpke.publicKey };
  const replay = new ReplayGuard();
  const keys = new Map<string, HpkeKeyPair>([[hpke.keyId, hpke]]);
  const open = (message: Parameters<typeof openInferenceRequest>[0], guard = replay) =>
    openInferenceRequest(message, { peerId, replay: guard, keyFor: (id) => keys.get(id)?.keyPair });
  return { peerId, hpke, nodeKey, replay, open };
}

const body = { model: 'demo', messages: [{ role: 'user', content: 'sentinel-7f3a' }] };

describe('sealed inference exchange', () => {
  it('carries the OpenAI body, a random id and a timestamp inside the ciphertext only', async () => {
    const { nodeKey, open } = await setup();
    const now = Date.now();
    const { message } = await sealInferenceRequest(
      nodeKey,
      { endpoint: 'chat.completions', body },
      { now },
    );
    expect(JSON.stringify(message)).not.toContain('sentinel-7f3a');
    const { request } = await open(message);
    expect(request.body).toEqual(body);
    expect(request.endpoint).toBe('chat.completions');
    expect(request.ts).toBe(now);
    expect(fromBase64Url(request.id)).toHaveLength(16);
  });

  it('streams events back and the client reads them in order to the final chunk', async () => {
    const { nodeKey, open } = await setup();
    const { message, reader } = await sealInferenceRequest(nodeKey, {
      endpoint: 'chat.completions',
      body,
    });
    const { writer } = await open(message);
    const events: ResponseEvent[] = [
      { type: 'chunk', data: { choices: [{ delta: { content: 'Hello' } }] } },
      { type: 'chunk', data: { choices: [{ delta: { content: '!' } }] } },
      { type: 'done' },
    ];
    const frames: NodeToClientInferenceMessage[] = [writer.start()];
    for (const e of events) frames.push(await writer.event(e));
    expect(frames.map((f) => (f.type === 'chunk' ? f.final : f.type))).toEqual([
      'response-start',
      false,
      false,
      true,
    ]);
    async function* source() {
      yield* frames;
    }
    const received: ResponseEvent[] = [];
    for await (const e of reader.events(source())) received.push(e);
    expect(received).toEqual(events);
  });

  it('carries several events in one chunk, in order, and insists the terminal one comes last', async () => {
    const { nodeKey, open } = await setup();
    const { message, reader } = await sealInferenceRequest(nodeKey, {
      endpoint: 'completions',
      body,
    });
    const { writer } = await open(message);
    const batch: ResponseEvent[] = [
      { type: 'chunk', data: { text: 'a' } },
      { type: 'chunk', data: { text: 'b' } },
      { type: 'done' },
    ];
    await reader.accept(writer.start());
    await expect(writer.events([{ type: 'done' }, { type: 'chunk', data: {} }])).rejects.toThrow(
      /after the end/,
    );
    await expect(writer.events([])).rejects.toThrow(/at least one event/);
    const frame = await writer.events(batch);
    expect(frame).toMatchObject({ type: 'chunk', final: true });
    expect(await reader.accept(frame)).toEqual(batch);
    expect(reader.finished).toBe(true);
  });

  it('refuses a replayed request, even when replayed seconds later', async () => {
    const { nodeKey, open } = await setup();
    const { message } = await sealInferenceRequest(nodeKey, {
      endpoint: 'completions',
      body: { prompt: 'x' },
    });
    await open(message);
    await expect(open(message)).rejects.toMatchObject({
      name: 'ReplayedRequestError',
      code: 'replayed_request',
    });
  });

  it('refuses stale and future timestamps, and reports the node clock in the error frame', async () => {
    const { nodeKey, open, replay } = await setup();
    const old = await sealInferenceRequest(
      nodeKey,
      { endpoint: 'completions', body: {} },
      { now: Date.now() - MAX_CLOCK_SKEW_MS - 5000 },
    );
    const future = await sealInferenceRequest(
      nodeKey,
      { endpoint: 'completions', body: {} },
      { now: Date.now() + MAX_CLOCK_SKEW_MS + 5000 },
    );
    const err = await open(old.message).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'StaleRequestError' });
    expect(errorFrame(err, { serverTime: replay.now() })).toMatchObject({
      code: 'stale_request',
      serverTime: expect.any(Number),
    });
    await expect(open(future.message)).rejects.toMatchObject({ name: 'StaleRequestError' });
  });

  it('refuses an unknown key id, and a tampered request with one generic error', async () => {
    const { nodeKey, open } = await setup();
    const { message } = await sealInferenceRequest(nodeKey, { endpoint: 'completions', body: {} });
    await expect(open({ ...message, keyId: '0123456789abcdef' })).rejects.toMatchObject({
      name: 'UnknownKeyError',
    });
    const ct = fromBase64Url(message.ct);
    ct[ct.length - 1]! ^= 0x80;
    const err = await open({ ...message, ct: toBase64Url(ct) }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'DecryptionError', message: 'decryption failed' });
    expect(errorFrame(err)).toEqual({
      type: 'error',
      code: 'decrypt_failed',
      message: 'decryption failed',
    });
  });

  it('a tampered request is not recorded, so the genuine one still opens afterwards', async () => {
    const { nodeKey, open } = await setup();
    const { message } = await sealInferenceRequest(nodeKey, { endpoint: 'completions', body: {} });
    const enc = fromBase64Url(message.enc);
    enc[0]! ^= 1;
    await expect(open({ ...message, enc: toBase64Url(enc) })).rejects.toMatchObject({
      name: 'DecryptionError',
    });
    await expect(open(message)).resolves.toBeDefined();
  });

  it('turns a plaintext error frame into a RemoteError and a cut-off stream into TruncatedResponseError', async () => {
    const { nodeKey, open } = await setup();
    const a = await sealInferenceRequest(nodeKey, { endpoint: 'completions', body: {} });
    await expect(
      a.reader.accept({ type: 'error', code: 'overloaded', message: 'busy', retryAfterMs: 1000 }),
    ).rejects.toMatchObject({ name: 'RemoteError', code: 'overloaded', retryAfterMs: 1000 });
    const b = await sealInferenceRequest(nodeKey, { endpoint: 'completions', body: {} });
    const { writer } = await open(b.message);
    async function* cutOff() {
      yield writer.start();
      yield await writer.event({ type: 'chunk', data: { text: 'a' } });
    }
    const seen: ResponseEvent[] = [];
    await expect(
      (async () => {
        for await (const e of b.reader.events(cutOff())) seen.push(e);
      })(),
    ).rejects.toMatchObject({ name: 'TruncatedResponseError' });
    expect(seen).toHaveLength(1);
  });

  it('refuses a response meant for another request (swapped by a relay)', async () => {
    const { nodeKey, open } = await setup();
    const first = await sealInferenceRequest(nodeKey, { endpoint: 'completions', body: {} });
    const second = await sealInferenceRequest(nodeKey, { endpoint: 'completions', body: {} });
    const { writer } = await open(first.message);
    await open(second.message);
    await second.reader.accept(writer.start());
    await expect(second.reader.accept(await writer.event({ type: 'done' }))).rejects.toMatchObject({
      name: 'DecryptionError',
    });
  });
});

describe('seals prepared ahead of time', () => {
  it('a prepared seal opens like a fresh one, with the same response secret, and seals once', async () => {
    const { nodeKey, hpke } = await setup();
    const info = requestInfo(nodeKey.peerId, nodeKey.keyId);
    const prepared = await prepareSeal(nodeKey.publicKeyBytes, info);
    const sealed = await prepared.seal(new TextEncoder().encode('sentinel-7f3a'));
    expect(sealed.enc).toEqual(prepared.enc);
    const opened = await openWithKey(hpke.keyPair, sealed.enc, info, sealed.ct);
    expect(new TextDecoder().decode(opened.plaintext)).toBe('sentinel-7f3a');
    expect(opened.secret).toEqual(sealed.secret);
    await expect(prepared.seal(new Uint8Array(1))).rejects.toThrow(/already/);
  });

  it('SealAhead never hands out one encapsulation twice, and its requests open at the node', async () => {
    const { nodeKey, open } = await setup();
    const seals = new SealAhead();
    seals.warm(nodeKey);
    const encs = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const { message, reader } = await sealInferenceRequest(
        nodeKey,
        { endpoint: 'chat.completions', body },
        { seals },
      );
      encs.add(message.enc);
      const { request, writer } = await open(message);
      expect(request.body).toEqual(body);
      // The response comes back under this request's own secret.
      const start = writer.start();
      const frame = await writer.event({ type: 'done' });
      expect(await reader.accept(start)).toEqual([]);
      expect(await reader.accept(frame)).toEqual([{ type: 'done' }]);
      await new Promise((r) => setTimeout(r, i % 2 === 0 ? 80 : 0));
    }
    expect(encs.size).toBe(4);
  });

  it('a seal prepared for one key is not used for another', async () => {
    const a = await setup();
    const b = await setup();
    const seals = new SealAhead();
    seals.warm(a.nodeKey);
    const { message } = await sealInferenceRequest(
      b.nodeKey,
      { endpoint: 'chat.completions', body },
      { seals },
    );
    expect((await b.open(message)).request.body).toEqual(body);
    await expect(a.open(message)).rejects.toThrow();
  });
});
