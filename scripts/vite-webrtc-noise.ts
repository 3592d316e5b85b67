/**
 * Vite plugin for the web chat: `@libp2p/webrtc` imports `@libp2p/noise` to build its own
 * Noise instance for WebRTC-direct handshakes, with libp2p's default crypto; in the page,
 * that import resolves to `browser/src/lib/mesh/webrtc-noise.ts` instead, the same
 * `noise()` with the page's Noise crypto as its default. Every other importer, the page's
 * own code included, gets `@libp2p/noise` itself.
 */
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'vite';

export const WEBRTC_NOISE_MODULE = fileURLToPath(
  new URL('../browser/src/lib/mesh/webrtc-noise.ts', import.meta.url),
);

const WEBRTC_PACKAGE = /[\\/]node_modules[\\/]@libp2p[\\/]webrtc[\\/]/;

export function webrtcNoiseCrypto(): Plugin {
  return {
    name: 'tokenplace:webrtc-noise-crypto',
    enforce: 'pre',
    resolveId(source, importer) {
      if (source !== '@libp2p/noise' || importer == null) return null;
      return WEBRTC_PACKAGE.test(importer) ? WEBRTC_NOISE_MODULE : null;
    },
  };
}
