/**
 * Noise's crypto for the page: @libp2p/noise's own JavaScript suite, except that X25519
 * key pairs come from the Montgomery ladder. noble's `x25519.getPublicKey` goes through
 * the Edwards curve with precomputed tables, and building those tables on first use
 * costs 30–40 ms of main thread on a slow machine, right while the page starts (Noise
 * makes its static key when the peer is created). The ladder needs no tables: a few
 * milliseconds per key, the same keys.
 */
import type { ICryptoInterface } from '@libp2p/noise';
import { defaultCrypto } from '@libp2p/noise/crypto';
import { x25519 } from '@noble/curves/ed25519.js';

function keyPair(privateKey: Uint8Array): { privateKey: Uint8Array; publicKey: Uint8Array } {
  return { privateKey, publicKey: x25519.scalarMult(privateKey, x25519.GuBytes) };
}

export const pageNoiseCrypto: ICryptoInterface = {
  ...defaultCrypto,
  generateX25519KeyPair: () => keyPair(x25519.utils.randomSecretKey()),
  generateX25519KeyPairFromSeed: (seed) => keyPair(seed),
};
