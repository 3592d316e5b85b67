// The directory protocol against real libp2p peers on loopback: a test peer playing an
// inference node, and a light client like a browser.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lpStream } from '@libp2p/utils';
import type { Libp2p } from '@libp2p/interface';
import { multiaddr } from '@multiformats/multiaddr';
import * as varint from 'uint8-varint';
import { peerIdFromString } from '@libp2p/peer-id';
import {
  concat,
  dialProvider,
  fetchNodeInfo,
  runInference,
  transportOf,
  DIRECTORY_PROTOCOL,
  DirectoryToClientProviders,
  lookupDirectory,
  verifyProviders,
  BootstrapInfo,
  MAX_FRAME_BYTES,
  utf8,
  verifyModelCard,
} from '../../protocol/index.js';
import {
  eventually,
  startLightClient,
  startTestBootstrap,
  startTestPeer,
  startWebRtcClient,
  waitForReservation,
  type TestBootstrap,
  type TestPeer,
} from './helpers.js';

let bootstrap: TestBootstrap;
let client: Libp2p;
let peer: TestPeer;
let tapped = 0;

beforeAll(async () => {
  bootstrap = await startTestBootstrap({
    directory: { dhtTimeoutMs: 1_000 },
    // Installed so every test here also runs with the tap's wrappers in place.
    tap: (_direction, bytes) => {
      tapped += bytes.length;
    },
  });
  client = await startLightClient();
  peer = await startTestPeer({
    bootstrap: bootstrap.addr,
    models: ['demo', 'second'],
  });
});

afterAll(async () => {
  await client?.stop();
  await peer?.stop();
  await bootstrap?.dispose();
});

const lookup = (query: { model?: string; limit?: number } = {}) =>
  lookupDirectory(client, multiaddr(bootstrap.addr), query);

/** Sends `bytes` as they are on a directory stream; returns the answer frame or the error name. */
async function rawExchange(bytes: Uint8Array): Promise<unknown> {
  const stream = await client.dialProtocol(multiaddr(bootstrap.addr), DIRECTORY_PROTOCOL);
  const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES });
  stream.send(bytes);
  await stream.close().catch(() => {});
  try {
    return JSON.parse(new TextDecoder().decode((await lp.read()).subarray()));
  } catch (err) {
    return (err as Error).name;
  }
}

const frame = (text: string): Uint8Array => {
  const body = utf8(text);
  return concat(varint.encode(body.length), body);
};

describe('directory', () => {
  it('lists a connected node with cards that verify against its PeerId, and its relay addresses', async () => {
    const webrtcAddr = await waitForReservation(peer);
    const providers = await eventually(async () => {
      const found = await lookup({ model: 'demo' });
      return (
        found.length > 0 && found[0]!.addrs.some((a) => a.toString().includes('/webrtc')) && found
      );
    }, 'the node with its WebRTC address');
    expect(providers).toHaveLength(1);
    const [provider] = providers;
    expect(provider!.peerId).toBe(peer.peerId);
    expect(provider!.cards.map((c) => c.model.id)).toEqual(['demo']);
    // Its /p2p-circuit/webrtc address through this relay, so a browser can reach it.
    const addrs = provider!.addrs.map((a) => a.toString());
    expect(
      addrs.some(
        (a) => webrtcAddr.startsWith(a) || a.startsWith(webrtcAddr.replace(/\/p2p\/\w+$/, '')),
      ),
    ).toBe(true);
    expect(addrs.some((a) => a.includes(`/p2p/${bootstrap.peerId}/p2p-circuit/webrtc`))).toBe(true);

    // The node's own key record comes along, verified against its PeerId: a client can
    // seal its first request without asking the node.
    expect(provider!.key?.peerId).toBe(peer.peerId);
    expect(provider!.key?.publicKeyBytes).toHaveLength(32);

    const all = await lookup();
    expect(all.map((p) => p.peerId)).toEqual([peer.peerId]);
    expect(all[0]!.cards.map((c) => c.model.id).sort()).toEqual(['demo', 'second']);

    // The page's /bootstrap.json carries the same directory, as the nodes signed it.
    const info = BootstrapInfo.parse(
      await (await fetch(`${bootstrap.httpUrl}/bootstrap.json`)).json(),
    );
    const snapshot = await verifyProviders(info.providers ?? []);
    expect(snapshot.map((p) => p.peerId)).toEqual([peer.peerId]);
    expect(snapshot[0]!.cards.map((c) => c.model.id).sort()).toEqual(['demo', 'second']);
    expect(snapshot[0]!.key?.keyId).toBe(provider!.key?.keyId);
    const health = (await (await fetch(`${bootstrap.httpUrl}/healthz`)).json()) as Record<
      string,
      number
    >;
    expect(health.directory).toBe(1);
    expect(health.reservations).toBe(1);
    const metrics = await (await fetch(`${bootstrap.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/^tokenplace_directory_providers 1$/m);
    expect(metrics).toMatch(/^tokenplace_relay_reservations 1$/m);
    // The reservation itself travelled on a relay (hop) stream.
    expect(Number(/^tokenplace_relayed_bytes_total (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);
  });

  it('gives a browser-like client what it needs to reach the node over direct WebRTC through this relay', async () => {
    const rtc = await startWebRtcClient();
    try {
      await rtc.dial(multiaddr(bootstrap.addr));
      const [provider] = await lookupDirectory(rtc, multiaddr(bootstrap.addr), { model: 'demo' });
      const connection = await dialProvider(rtc, provider!, peerIdFromString, {
        signal: AbortSignal.timeout(20_000),
      });
      expect(connection.remotePeer.toString()).toBe(peer.peerId);
      expect(transportOf(connection)).toBe('direct WebRTC');
      const info = await fetchNodeInfo(connection);
      expect(info.cards.map((c) => c.model.id).sort()).toEqual(['demo', 'second']);
      const events = [];
      for await (const event of runInference(connection, info.key, {
        endpoint: 'chat.completions',
        body: { model: 'demo', messages: [{ role: 'user', content: 'hi' }] },
      })) {
        events.push(event.type);
      }
      expect(events).toEqual(['result']);
      expect(tapped).toBeGreaterThan(0);
    } finally {
      await rtc.stop();
    }
  });

  it('never serves a card signed by another key, not even unverified', async () => {
    const forger = await startTestPeer({
      bootstrap: bootstrap.addr,
      models: ['honest'],
      forgedModel: 'forged',
      relay: false,
    });
    try {
      await eventually(() => bootstrap.directory.get(forger.peerId), 'the forger listed');
      expect(await lookup({ model: 'forged' })).toEqual([]);
      expect((await lookup({ model: 'honest' })).map((p) => p.peerId)).toEqual([forger.peerId]);
      const answer = DirectoryToClientProviders.parse(
        await rawExchange(frame('{"type":"lookup"}')),
      );
      const cards = answer.providers.flatMap((p) =>
        p.cards.map((card) => ({ card, peerId: p.peerId })),
      );
      expect(cards).toHaveLength(3); // demo and second of the first node, honest of the forger
      for (const { card, peerId } of cards) {
        await expect(verifyModelCard(card, peerId)).resolves.toMatchObject({ peerId });
      }
    } finally {
      await forger.stop();
    }
    await eventually(() => bootstrap.directory.get(forger.peerId) == null, 'the forger dropped');
  });

  it('returns no providers for an unknown model', async () => {
    expect(await lookup({ model: 'no-such-model' })).toEqual([]);
  });

  it('refuses malformed frames with a clean error, and the next lookup still works', async () => {
    expect(await rawExchange(frame('not json'))).toMatchObject({
      type: 'error',
      code: 'bad_message',
    });
    expect(await rawExchange(frame('{"type":"lookup","model":"demo","extra":1}'))).toMatchObject({
      type: 'error',
      code: 'bad_message',
    });
    expect(await rawExchange(frame('{"type":"lookup","limit":100000}'))).toMatchObject({
      type: 'error',
      code: 'bad_message',
    });
    expect(await rawExchange(varint.encode(MAX_FRAME_BYTES + 1))).toMatchObject({
      type: 'error',
      code: 'too_large',
    });
    expect(
      await rawExchange(
        new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
      ),
    ).toMatchObject({ type: 'error' });
    expect(await rawExchange(new Uint8Array(0))).toMatchObject({
      type: 'error',
      code: 'bad_message',
    });
    // Nothing else was disturbed.
    expect((await lookup({ model: 'demo' })).map((p) => p.peerId)).toEqual([peer.peerId]);
    const metrics = await (await fetch(`${bootstrap.httpUrl}/metrics`)).text();
    expect(
      Number(/^tokenplace_directory_lookups_total\{result="error"\} (\d+)$/m.exec(metrics)?.[1]),
    ).toBe(6);
  });

  it('finds nodes attached elsewhere through the DHT, fetching and verifying their info', async () => {
    // A node that is not connected to this bootstrap, but whose provider record is here.
    const remote = await startTestPeer({
      bootstrap: bootstrap.addr,
      models: ['dht-only'],
      relay: false,
      listenWs: true,
    });
    try {
      await eventually(
        async () => (await lookup({ model: 'dht-only' })).length === 1,
        'the directory to list it',
      );
      await remote.provide();
      await remote.libp2p.hangUp(bootstrap.libp2p.peerId);
      await eventually(() => bootstrap.directory.get(remote.peerId) == null, 'the disconnect');
      const providers = await lookup({ model: 'dht-only' });
      expect(providers.map((p) => p.peerId)).toEqual([remote.peerId]);
      expect(providers[0]!.cards[0]!.model.id).toBe('dht-only');
      expect(bootstrap.directory.get(remote.peerId)?.source).toBe('dht');
    } finally {
      await remote.stop();
    }
  });

  it('refreshes load, and forgets a node that stops answering', async () => {
    peer.load = { active: 2, queued: 5, maxConcurrency: 2 };
    await bootstrap.directory.refresh();
    expect(bootstrap.directory.get(peer.peerId)?.load).toEqual(peer.load);
    peer.failInfo = true;
    await bootstrap.directory.refresh();
    expect(bootstrap.directory.get(peer.peerId)).toBeUndefined();
    expect(await lookup({ model: 'demo' })).toEqual([]);
    // Still connected: a later refresh lists it again once it answers.
    peer.failInfo = false;
    await bootstrap.directory.refresh();
    expect((await lookup({ model: 'demo' })).map((p) => p.peerId)).toEqual([peer.peerId]);
  });

  it('drops a node once it disconnects', async () => {
    const again = await startTestPeer({
      bootstrap: bootstrap.addr,
      models: ['demo'],
      relay: false,
    });
    await eventually(async () => (await lookup({ model: 'demo' })).length === 1, 'the node listed');
    await again.stop();
    await peer.stop();
    await eventually(
      async () => (await lookup({ model: 'demo' })).length === 0,
      'the node to be dropped',
    );
    await eventually(() => bootstrap.directory.size === 0, 'an empty directory');
  });
});
