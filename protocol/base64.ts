/**
 * base64url (RFC 4648 §5) without padding, strict: Node's twin (browsers load
 * `base64.browser.ts`), on Buffer's native codec — sealed chunks travel as base64url in
 * JSON frames, and the JavaScript codec costs ~15x more per byte here. Decoding refuses
 * padding, `+`, `/`, any other character and non-canonical trailing bits with an
 * `InvalidMessageError`, exactly as the browser twin does.
 */
import { InvalidMessageError } from './errors.js';

export function toBase64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

/** Decodes unpadded base64url; anything else (padding, `+`, `/`, stray bits) throws. */
export function fromBase64Url(text: string): Uint8Array {
  if (text.length % 4 === 1) throw new InvalidMessageError('invalid base64url length');
  const decoded = Buffer.from(text, 'base64url');
  // Buffer's decoder skips what it does not know and takes both alphabets and padding;
  // only canonical, unpadded base64url encodes back to the very same text.
  if (decoded.toString('base64url') !== text) {
    throw new InvalidMessageError('invalid or non-canonical base64url');
  }
  // A copy of its own: small Buffers are slices of a shared pool.
  return new Uint8Array(decoded);
}
