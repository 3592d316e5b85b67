// Several bootstraps: one started with --peer stays connected to the other, their DHT
// routing tables hold each other, and a node attached to one is found from the other.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Libp2p } from '@libp2p/interface';
import { multiaddr } from '@multiformats/multiaddr';
import { lookupDirectory } from '../../protocol/index.js';
import {
  eventually,
  startLightClient,
  startTestBootstrap,
  startTestPeer,
  waitForReservation,
  type TestBootstrap,
  type TestPeer,
} from './helpers.js';

let first: TestBootstrap;
let second: TestBootstrap;
let client: Libp2p;
let node: TestPeer | undefined;

beforeAll(async () => {
  first = await startTestBootstrap();
  second = await startTestBootstrap({ args: ['--peer', first.addr] });
  client = await startLightClient();
});

afterAll(async () => {
  await client?.stop();
  await node?.stop();
  await second?.dispose();
  await first?.dispose();
});

const routingTableSize = async (bootstrap: TestBootstrap): Promise<number> => {
  const text = await (await fetch(`${bootstrap.httpUrl}/metrics`)).text();
  return Number(/^tokenplace_dht_routing_table_size (\d+)$/m.exec(text)?.[1]);
};

describe('several bootstraps', () => {
  it('--peer connects them into one DHT', async () => {
    await eventually(
      async () => (await routingTableSize(first)) === 1,
      'the first to see the second',
    );
    await eventually(
      async () => (await routingTableSize(second)) === 1,
      'the second to see the first',
    );
  });

  it('finds a node attached to the other bootstrap, with its relay address there', async () => {
    node = await startTestPeer({ bootstrap: second.addr, models: ['far-away'] });
    await waitForReservation(node);
    await node.provide();
    const providers = await eventually(async () => {
      const found = await lookupDirectory(client, multiaddr(first.addr), { model: 'far-away' });
      return found.length > 0 && found;
    }, 'the first bootstrap to find it');
    expect(providers.map((p) => p.peerId)).toEqual([node.peerId]);
    expect(
      providers[0]!.addrs.some((a) =>
        a.toString().includes(`/p2p/${second.peerId}/p2p-circuit/webrtc`),
      ),
    ).toBe(true);
  });
});
