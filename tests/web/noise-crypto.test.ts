// The page's Noise crypto makes X25519 key pairs with the Montgomery ladder instead of
// noble's table-driven getPublicKey: it must produce exactly the same keys, and shared
// secrets that agree with the reference on both sides.
import { describe, expect, it } from 'vitest';
import { x25519 } from '@noble/curves/ed25519.js';
import { pageNoiseCrypto } from '../../browser/src/lib/mesh/noise-crypto.js';

describe('pageNoiseCrypto', () => {
  it('derives the same public keys as x25519.getPublicKey', () => {
    for (let i = 0; i < 20; i++) {
      const seed = x25519.utils.randomSecretKey();
      const pair = pageNoiseCrypto.generateX25519KeyPairFromSeed(seed);
      expect(pair.privateKey).toEqual(seed);
      expect(pair.publicKey).toEqual(x25519.getPublicKey(seed));
    }
  });

  it('makes fresh key pairs that agree on a shared secret with the reference', () => {
    const a = pageNoiseCrypto.generateX25519KeyPair();
    const b = pageNoiseCrypto.generateX25519KeyPair();
    expect(a.privateKey).not.toEqual(b.privateKey);
    expect(a.publicKey).toEqual(x25519.getPublicKey(a.privateKey));
    const ab = pageNoiseCrypto.generateX25519SharedKey(a.privateKey, b.publicKey);
    expect(ab).toEqual(x25519.getSharedSecret(b.privateKey, a.publicKey));
  });

  it('matches the RFC 7748 test vector (section 6.1)', () => {
    const hex = (s: string): Uint8Array => Uint8Array.from(s.match(/../g)!, (b) => parseInt(b, 16));
    const alice = pageNoiseCrypto.generateX25519KeyPairFromSeed(
      hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'),
    );
    expect(alice.publicKey).toEqual(
      hex('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a'),
    );
  });
});
