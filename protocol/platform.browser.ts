/**
 * The browser twin of `platform.ts`: @hpke/core with WebCrypto X25519 and AES-128-GCM
 * (fast in browsers), the key schedule's HKDF by @noble/hashes (synchronous, which saves
 * two crypto-thread round trips per step), and the pure-JS X25519 of @hpke/dhkem-x25519
 * for browsers without WebCrypto X25519. Same suite, same bytes.
 */
import { Aes128Gcm, CipherSuite, DhkemX25519HkdfSha256 as WebCryptoX25519Kem } from '@hpke/core';
import { DhkemX25519HkdfSha256 as JsX25519Kem } from '@hpke/dhkem-x25519';
import { NobleHkdfSha256 } from './hkdf.js';

/** A symmetric AES-128-GCM key for response chunks. */
export interface ChunkAead {
  seal(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array>;
  /** Rejects when the ciphertext does not authenticate. */
  open(nonce: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array>;
}

export function createChunkAead(key: Uint8Array): ChunkAead {
  const subtle = globalThis.crypto.subtle;
  // The key is imported once; once it is there, a chunk waits only for its own cipher call.
  let cryptoKey: CryptoKey | undefined;
  const imported = subtle
    .importKey('raw', key.slice(), 'AES-GCM', false, ['encrypt', 'decrypt'])
    .then((k) => (cryptoKey = k));
  const params = (nonce: Uint8Array, aad: Uint8Array): AesGcmParams => ({
    name: 'AES-GCM',
    iv: nonce as Uint8Array<ArrayBuffer>,
    additionalData: aad as Uint8Array<ArrayBuffer>,
    tagLength: 128,
  });
  return {
    seal: async (nonce, aad, plaintext) =>
      new Uint8Array(
        await subtle.encrypt(
          params(nonce, aad),
          cryptoKey ?? (await imported),
          plaintext as Uint8Array<ArrayBuffer>,
        ),
      ),
    open: async (nonce, aad, ciphertext) =>
      new Uint8Array(
        await subtle.decrypt(
          params(nonce, aad),
          cryptoKey ?? (await imported),
          ciphertext as Uint8Array<ArrayBuffer>,
        ),
      ),
  };
}

/**
 * The token.place suite for this platform. `native`: WebCrypto X25519; `js`: the pure-JS
 * X25519 of @hpke/dhkem-x25519, for browsers without WebCrypto X25519.
 */
export function createPlatformSuite(kem: 'native' | 'js'): CipherSuite {
  return new CipherSuite({
    kem: kem === 'native' ? new WebCryptoX25519Kem() : new JsX25519Kem(),
    kdf: new NobleHkdfSha256(),
    aead: new Aes128Gcm(),
  });
}
