// A node reachable only through its relay (like one behind a NAT) is used over a direct
// WebRTC connection: the relayed circuit carries only the signalling.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { peerIdFromString } from '@libp2p/peer-id';
import { INFERENCE_PROTOCOL, isDirect } from '../../protocol/index.js';
import { loadNodeConfig } from '../../node/config.js';
import { startNode, type RunningNode } from '../../node/node.js';
import {
  eventually,
  removeTempDirs,
  startBootstrapProcess,
  startNodeProcess,
  tempDir,
  type BootstrapProcess,
  type NodeProcess,
} from '../helpers/mesh.js';

let bootstrap: BootstrapProcess;
let provider: NodeProcess;
let router: RunningNode;

beforeAll(async () => {
  bootstrap = await startBootstrapProcess();
  provider = await startNodeProcess([bootstrap.multiaddr], {
    model: 'demo-endless',
    extraArgs: ['--listen', 'none'],
  });
  router = await startNode({
    ...loadNodeConfig([], {}),
    model: 'none',
    apiPort: 0,
    dataDir: await tempDir(),
    bootstrap: [bootstrap.multiaddr],
    listen: ['none'],
    allowPrivateAddresses: true,
  });
});

afterAll(async () => {
  await router?.stop();
  await Promise.all([provider, bootstrap].filter((p) => p != null).map((p) => p.cli.stop()));
  await removeTempDirs();
});

describe('inference from a relayed peer', () => {
  it('runs over a direct WebRTC connection without relay limits, never over the circuit', async () => {
    await eventually(
      () => router.service.listModels().some((m) => m.id === 'demo-endless'),
      30_000,
      'the provider',
    );
    const res = await fetch(`${router.apiUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'demo-endless',
        stream: true,
        max_tokens: 3000,
        messages: [{ role: 'user', content: 'x' }],
      }),
    });
    const reader = res.body!.getReader();
    let received = 0;
    // Read well past the 128 KiB a relayed circuit would allow, then look at the connections.
    while (received < 256 * 1024) {
      const { done, value } = await reader.read();
      if (done) break;
      received += value.length;
    }
    expect(received).toBeGreaterThanOrEqual(256 * 1024);
    const connections = router.mesh!.libp2p.getConnections(peerIdFromString(provider.peerId));
    const carrying = connections.filter((c) =>
      c.streams.some((s) => s.protocol === INFERENCE_PROTOCOL),
    );
    expect(carrying).toHaveLength(1);
    const [conn] = carrying;
    expect(conn!.remoteAddr.toString()).toMatch(/\/p2p-circuit\/webrtc\/p2p\//);
    expect(conn!.limits).toBeUndefined();
    expect(isDirect(conn!)).toBe(true);
    await reader.cancel();
  });
});
