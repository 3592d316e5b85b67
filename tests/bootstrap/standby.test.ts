// The client's stream and seal for the *next* request (protocol/mesh.ts): readied as soon
// as the first token of an answer is out, so a request that follows at once finds both,
// against a real libp2p peer on loopback.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Libp2p } from '@libp2p/interface';
import { multiaddr } from '@multiformats/multiaddr';
import {
  fetchNodeInfo,
  INFERENCE_PROTOCOL,
  runInferenceBatches,
  SealAhead,
  StandbyStreams,
} from '../../protocol/index.js';
import {
  eventually,
  startLightClient,
  startTestBootstrap,
  startTestPeer,
  type TestBootstrap,
  type TestPeer,
} from './helpers.js';

let bootstrap: TestBootstrap;
let client: Libp2p;
let peer: TestPeer;

beforeAll(async () => {
  bootstrap = await startTestBootstrap();
  client = await startLightClient();
  // Streams each chunk 200 ms after the last: the answer is still running while we look.
  peer = await startTestPeer({
    bootstrap: bootstrap.addr,
    behaviour: 'slow',
    listenWs: true,
    relay: false,
  });
});

afterAll(async () => {
  await client?.stop();
  await peer?.stop();
  await bootstrap?.dispose();
});

describe('the next request', () => {
  it('gets its stream and seal readied once the first token is out', async () => {
    const addr = peer.libp2p.getMultiaddrs().find((a) => a.toString().includes('/ws'))!;
    const connection = await client.dial(multiaddr(addr.toString()));
    const info = await fetchNodeInfo(connection);
    const streams = new StandbyStreams();
    const seals = new SealAhead();
    const prime = vi.spyOn(streams, 'prime');
    const warm = vi.spyOn(seals, 'warm');
    const take = vi.spyOn(streams, 'take');
    const newStream = vi.spyOn(connection, 'newStream');
    const request = {
      endpoint: 'chat.completions' as const,
      body: { model: 'demo', stream: true, messages: [{ role: 'user', content: 'hi' }] },
    };

    const first = runInferenceBatches(connection, info.key, request, { streams, seals });
    const batch = await first.next();
    expect(batch.done).toBe(false);
    expect(prime).not.toHaveBeenCalled(); // not on the first token's path
    await new Promise((r) => setTimeout(r, 10));
    expect(prime).toHaveBeenCalledWith(connection);
    expect(warm).toHaveBeenCalledWith(info.key);
    // A second stream opens while the first answer still streams (a chunk per 200 ms)...
    await eventually(() => newStream.mock.calls.length === 2, 'the standby stream', 5_000);
    const standby = await newStream.mock.results[1]!.value;

    // ...and the next request runs on it.
    const second = runInferenceBatches(connection, info.key, request, { streams, seals });
    expect((await second.next()).done).toBe(false);
    expect(await take.mock.results[1]!.value).toBe(standby);
    await Promise.all([first.return(undefined), second.return(undefined)]);
    expect(peer.requests).toHaveLength(2);
  });

  it('is sent on the stream being primed when it comes right after prime', async () => {
    const addr = peer.libp2p.getMultiaddrs().find((a) => a.toString().includes('/ws'))!;
    const connection = await client.dial(multiaddr(addr.toString()), { force: true });
    const info = await fetchNodeInfo(connection);
    const streams = new StandbyStreams();
    const newStream = vi.spyOn(connection, 'newStream');
    const before = peer.requests.length;

    // As the page does: prime when the connection is up, and the first request follows
    // before that stream's negotiation is done.
    streams.prime(connection);
    const take = vi.spyOn(streams, 'take');
    const answer = runInferenceBatches(
      connection,
      info.key,
      {
        endpoint: 'chat.completions',
        body: { model: 'demo', stream: true, messages: [{ role: 'user', content: 'hi' }] },
      },
      { streams },
    );
    expect((await answer.next()).done).toBe(false);
    // One stream for both, not a second one opened beside it.
    expect(await take.mock.results[0]!.value).toBe(await newStream.mock.results[0]!.value);
    expect(newStream.mock.calls.filter(([p]) => p === INFERENCE_PROTOCOL)).toHaveLength(1);
    await answer.return(undefined);
    expect(peer.requests).toHaveLength(before + 1);
  });
});
