/**
 * ChaCha20-Poly1305 (RFC 8439), synchronous, for browsers: @noble/ciphers. The Node twin
 * (`aead.ts`) uses OpenSSL. Same functions, same bytes.
 */
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';

export const AEAD_TAG_BYTES = 16;

export function chachaSeal(
  key: Uint8Array,
  nonce: Uint8Array,
  aad: Uint8Array,
  plaintext: Uint8Array,
): Uint8Array {
  return chacha20poly1305(key, nonce, aad).encrypt(plaintext);
}

/** Throws on any authentication failure. */
export function chachaOpen(
  key: Uint8Array,
  nonce: Uint8Array,
  aad: Uint8Array,
  ciphertext: Uint8Array,
): Uint8Array {
  return chacha20poly1305(key, nonce, aad).decrypt(ciphertext);
}
