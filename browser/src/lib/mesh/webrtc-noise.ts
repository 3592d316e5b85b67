/**
 * `@libp2p/noise` as `@libp2p/webrtc` sees it in the page (the Vite config points that
 * package's import here): the same `noise()`, with the page's Noise crypto as default.
 * WebRTC-direct runs its own Noise handshake over the first data channel and builds
 * that instance itself with libp2p's default crypto, whose X25519 key derivation
 * precomputes curve tables on first use: 30–40 ms of main thread in the middle of the
 * page's dial to its node (see noise-crypto.ts).
 */
import { noise as libp2pNoise, type NoiseInit } from '@libp2p/noise';
import { pageNoiseCrypto } from './noise-crypto.js';

export * from '@libp2p/noise';

export function noise(init: NoiseInit = {}): ReturnType<typeof libp2pNoise> {
  return libp2pNoise({ crypto: pageNoiseCrypto, ...init });
}
