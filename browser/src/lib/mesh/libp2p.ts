/**
 * The browser's libp2p peer: WebSockets to reach a bootstrap, WebRTC-direct to reach a
 * node whose UDP port it can reach (one step, no relay), else circuit relay to reach the
 * node's WebRTC signalling through the bootstrap and WebRTC for the direct connection
 * that carries the chat; Noise, yamux, identify and ping. No DHT client: the bootstrap's directory
 * protocol answers "who serves model X" in one round trip, with the nodes' own signed
 * cards, which is all a browser needs.
 *
 * The browser peer listens on nothing: it only dials. Production keeps libp2p's browser
 * defaults — its connection gater refuses `ws://` and private addresses, and WebRTC
 * uses public STUN servers. `allowPrivateAddresses` relaxes both for a loopback or LAN
 * mesh (`token.place start`, tests), and only when the bootstrap or a dev build asks.
 *
 * @example
 * ```ts
 * const libp2p = await createBrowserLibp2p({ allowPrivateAddresses: false });
 * await libp2p.dial(multiaddr('/dns4/relay.example/tcp/443/wss/p2p/12D3Koo…'));
 * ```
 */
import { createLibp2p, type Libp2p } from 'libp2p';
import { privateKeyFromRaw } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2';
import { identify, type Identify } from '@libp2p/identify';
import { noise } from '@libp2p/noise';
import { ping, type Ping } from '@libp2p/ping';
import { webRTC, webRTCDirect } from '@libp2p/webrtc';
import { webSockets } from '@libp2p/websockets';
import { yamux } from '@libp2p/yamux';
import { fromBase64Url } from '../../../../protocol/bytes.js';
import { CONNECTION_MONITOR } from '../../../../protocol/constants.js';
import { pageNoiseCrypto } from './noise-crypto.js';

// A type alias, not an interface: libp2p's ServiceMap constraint needs the implicit index signature.
export type BrowserServices = {
  identify: Identify;
  ping: Ping;
};

export type BrowserLibp2p = Libp2p<BrowserServices>;

export interface BrowserLibp2pInit {
  /**
   * A loopback or LAN mesh: dial `ws://` and private addresses, and gather no STUN
   * candidates (host candidates are all a LAN needs, and nothing leaves it).
   *
   * @default false
   */
  allowPrivateAddresses?: boolean;
}

export async function createBrowserLibp2p(init: BrowserLibp2pInit = {}): Promise<BrowserLibp2p> {
  const relaxed = init.allowPrivateAddresses === true;
  const privateKey = await generateIdentity();
  return createLibp2p({
    ...(privateKey != null ? { privateKey } : {}),
    addresses: { listen: [] },
    transports: [
      webSockets(),
      webRTCDirect(),
      webRTC(relaxed ? { rtcConfiguration: { iceServers: [] } } : {}),
      // Only to dial a node's `/p2p-circuit/webrtc` address: the relayed, limited
      // connection carries the WebRTC signalling, then the data goes direct.
      circuitRelayTransport(),
    ],
    connectionEncrypters: [noise({ crypto: pageNoiseCrypto })],
    streamMuxers: [yamux()],
    // libp2p's browser gater refuses ws:// and private addresses; keep it unless relaxed.
    ...(relaxed ? { connectionGater: { denyDialMultiaddr: () => false } } : {}),
    // A relay that froze or lost its network shows as an outage within ~5 s.
    connectionMonitor: CONNECTION_MONITOR,
    services: {
      // Identify runs only when asked: the page needs no peer's listen addresses or
      // protocol list (it dials what the directory names), and running it on every new
      // connection costs the main thread a peer-store merge right when the page starts.
      identify: identify({ runOnConnectionOpen: false }),
      ping: ping(),
    },
  });
}

/**
 * A fresh Ed25519 identity for this page, made by WebCrypto. libp2p's default derives the
 * public key in JavaScript, whose first use precomputes curve tables: ~100 ms of main
 * thread on a slow device, right on the path to the first answer. Where WebCrypto has no
 * Ed25519, libp2p makes the key itself.
 */
async function generateIdentity(): Promise<PrivateKey | undefined> {
  try {
    const pair = (await globalThis.crypto.subtle.generateKey({ name: 'Ed25519' }, true, [
      'sign',
      'verify',
    ])) as CryptoKeyPair;
    const jwk = await globalThis.crypto.subtle.exportKey('jwk', pair.privateKey);
    if (jwk.d == null || jwk.x == null) return undefined;
    const seed = fromBase64Url(jwk.d);
    const publicKey = fromBase64Url(jwk.x);
    if (seed.length !== 32 || publicKey.length !== 32) return undefined;
    const raw = new Uint8Array(64);
    raw.set(seed, 0);
    raw.set(publicKey, 32);
    return privateKeyFromRaw(raw);
  } catch {
    return undefined;
  }
}
