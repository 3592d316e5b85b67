/**
 * The one place protocol/ reaches for platform crypto: WebCrypto (Node >= 20 and every
 * modern browser, secure contexts only). Missing WebCrypto throws a named error instead
 * of a TypeError deep inside a library.
 */
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { CryptoUnavailableError } from './errors.js';

export function webCrypto(): Crypto {
  const c = (globalThis as { crypto?: Crypto }).crypto;
  if (c?.subtle == null || typeof c.getRandomValues !== 'function') {
    throw new CryptoUnavailableError();
  }
  return c;
}

export function randomBytes(length: number): Uint8Array {
  const out = new Uint8Array(length);
  webCrypto().getRandomValues(out);
  return out;
}

/** SHA-256, synchronous (noble): used for key ids and fingerprints on hot paths. */
export function sha256(data: Uint8Array): Uint8Array {
  return nobleSha256(data);
}
