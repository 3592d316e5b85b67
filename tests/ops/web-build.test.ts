// The web chat's build gives WebRTC-direct's own Noise instance the page's Noise crypto
// (scripts/vite-webrtc-noise.ts): the redirect applies to @libp2p/webrtc only, the
// installed @libp2p/webrtc still builds that instance through `noise()` from
// @libp2p/noise (else the redirect would silently do nothing), and the replacement
// `noise()` makes its keys with the page's crypto.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { defaultLogger } from '@libp2p/logger';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { WEBRTC_NOISE_MODULE, webrtcNoiseCrypto } from '../../scripts/vite-webrtc-noise.js';
import { noise } from '../../browser/src/lib/mesh/webrtc-noise.js';
import { pageNoiseCrypto } from '../../browser/src/lib/mesh/noise-crypto.js';

function resolve(source: string, importer: string | undefined): unknown {
  const hook = webrtcNoiseCrypto().resolveId as (source: string, importer?: string) => unknown;
  return hook(source, importer);
}

afterEach(() => vi.restoreAllMocks());

describe('vite plugin: WebRTC-direct Noise crypto', () => {
  it("points @libp2p/webrtc's import of @libp2p/noise at the page's module, and nothing else", () => {
    const webrtc = '/x/node_modules/@libp2p/webrtc/dist/src/private-to-public/utils/connect.js';
    expect(resolve('@libp2p/noise', webrtc)).toBe(WEBRTC_NOISE_MODULE);
    expect(resolve('@libp2p/noise', '/x/browser/src/lib/mesh/libp2p.ts')).toBeNull();
    expect(resolve('@libp2p/noise', WEBRTC_NOISE_MODULE)).toBeNull();
    expect(resolve('@libp2p/noise', '/x/node_modules/@libp2p/webrtc-star/index.js')).toBeNull();
    expect(resolve('@libp2p/noise/crypto', webrtc)).toBeNull();
    expect(resolve('@libp2p/noise', undefined)).toBeNull();
  });

  it('matches how the installed @libp2p/webrtc builds its handshake', async () => {
    const require = createRequire(import.meta.url);
    const src = dirname(require.resolve('@libp2p/webrtc'));
    const connect = await readFile(join(src, 'private-to-public/utils/connect.js'), 'utf8');
    expect(connect).toMatch(/import \{ noise \} from '@libp2p\/noise'/);
    expect(connect).toMatch(/\bnoise\(\{ prologueBytes/);
  });

  it("makes the handshake's keys with the page's Noise crypto unless told otherwise", async () => {
    const privateKey = await generateKeyPair('Ed25519');
    const components = {
      privateKey,
      peerId: peerIdFromPrivateKey(privateKey),
      logger: defaultLogger(),
      upgrader: { getStreamMuxers: () => new Map() },
    } as unknown as Parameters<ReturnType<typeof noise>>[0];
    const original = pageNoiseCrypto.generateX25519KeyPair;
    const page = vi.spyOn(pageNoiseCrypto, 'generateX25519KeyPair');
    noise({ prologueBytes: new Uint8Array(4) })(components);
    expect(page).toHaveBeenCalledTimes(1);

    const own = { ...pageNoiseCrypto, generateX25519KeyPair: vi.fn(original) };
    noise({ crypto: own })(components);
    expect(own.generateX25519KeyPair).toHaveBeenCalledTimes(1);
    expect(page).toHaveBeenCalledTimes(1);
  });
});
