// The node's WebRTC-direct transport gets no STUN servers: without signalling nobody sees
// the candidates they would find, and libp2p's default would make the node query four
// public STUN servers for every browser that connects to it.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { generateKeyPair } from '@libp2p/crypto/keys';
import * as webrtc from '@libp2p/webrtc';
import { createNodeLibp2p, type NodeLibp2p } from '../../../node/mesh/libp2p.js';

vi.mock('@libp2p/webrtc', async (importOriginal) => {
  const original = await importOriginal<typeof webrtc>();
  return { ...original, webRTCDirect: vi.fn(original.webRTCDirect) };
});

let node: NodeLibp2p | undefined;
afterEach(async () => {
  await node?.stop();
  node = undefined;
  vi.mocked(webrtc.webRTCDirect).mockClear();
});

describe('createNodeLibp2p', () => {
  for (const allowPrivateAddresses of [false, true]) {
    it(`gives WebRTC-direct no STUN servers (allowPrivateAddresses: ${allowPrivateAddresses})`, async () => {
      node = await createNodeLibp2p({
        privateKey: await generateKeyPair('Ed25519'),
        listen: ['/ip4/127.0.0.1/udp/0/webrtc-direct'],
        allowPrivateAddresses,
      });
      expect(webrtc.webRTCDirect).toHaveBeenCalledTimes(1);
      expect(vi.mocked(webrtc.webRTCDirect).mock.calls[0]![0]).toEqual({
        rtcConfiguration: { iceServers: [] },
      });
      // And it listens: the browser-facing address is there.
      expect(node.getMultiaddrs().some((a) => a.toString().includes('/webrtc-direct/'))).toBe(true);
    });
  }
});
