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
    // Answers over one connection until half again past the 128 KiB a relayed circuit
    // would allow, then one more: each runs on the same direct connection, with no limits.
    const used = new Set<string>();
    let received = 0;
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    for (let i = 0; i < 40; i++) {
      const res = await fetch(`${router.apiUrl}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'demo-endless',
          stream: true,
          max_tokens: 3000,
          messages: [{ role: 'user', content: `x${i}` }],
        }),
      });
      expect(res.status).toBe(200);
      reader = res.body!.getReader();
      const first = await reader.read();
      received += first.value?.length ?? 0;
      // While this answer streams, the connection carrying it:
      const carrying = router
        .mesh!.libp2p.getConnections(peerIdFromString(provider.peerId))
        .filter((c) => c.streams.some((s) => s.protocol === INFERENCE_PROTOCOL));
      expect(carrying).toHaveLength(1);
      const [conn] = carrying;
      expect(conn!.remoteAddr.toString()).toMatch(/\/p2p-circuit\/webrtc\/p2p\//);
      expect(conn!.limits).toBeUndefined();
      expect(isDirect(conn!)).toBe(true);
      used.add(conn!.id);
      if (received >= 192 * 1024) break;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        received += value.length;
      }
    }
    expect(received).toBeGreaterThanOrEqual(192 * 1024);
    expect(used.size).toBe(1);
    await reader!.cancel();
  });
});
