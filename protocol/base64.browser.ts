/**
 * base64url (RFC 4648 §5) without padding, strict: the browser's twin of `base64.ts`.
 * The built-in `Uint8Array.fromBase64`/`toBase64` where the browser has them, plain
 * JavaScript elsewhere. Decoding refuses padding, `+`, `/`, any other character and
 * non-canonical trailing bits with an `InvalidMessageError`.
 */
import { InvalidMessageError } from './errors.js';

interface Base64Options {
  alphabet: 'base64url';
  omitPadding?: boolean;
}
const NativeUint8Array = Uint8Array as unknown as {
  fromBase64?: (text: string, options: Base64Options) => Uint8Array;
};
const nativeDecode = NativeUint8Array.fromBase64;
const nativeEncode = (
  Uint8Array.prototype as unknown as {
    toBase64?: (this: Uint8Array, options: Base64Options) => string;
  }
).toBase64;
const URL_SAFE: Base64Options = { alphabet: 'base64url', omitPadding: true };

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const B64URL_LOOKUP = new Int16Array(128).fill(-1);
for (let i = 0; i < B64URL.length; i++) B64URL_LOOKUP[B64URL.charCodeAt(i)] = i;

export function toBase64Url(bytes: Uint8Array): string {
  return nativeEncode != null ? nativeEncode.call(bytes, URL_SAFE) : toBase64UrlJs(bytes);
}

/** The JavaScript encoder, for browsers without `Uint8Array.prototype.toBase64`. */
export function toBase64UrlJs(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += B64URL[n >> 18]! + B64URL[(n >> 12) & 63]! + B64URL[(n >> 6) & 63]! + B64URL[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += B64URL[n >> 18]! + B64URL[(n >> 12) & 63]!;
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += B64URL[n >> 18]! + B64URL[(n >> 12) & 63]! + B64URL[(n >> 6) & 63]!;
  }
  return out;
}

/** Decodes unpadded base64url; anything else (padding, `+`, `/`, stray bits) throws. */
export function fromBase64Url(text: string): Uint8Array {
  if (text.length % 4 === 1) throw new InvalidMessageError('invalid base64url length');
  if (nativeDecode != null && nativeEncode != null) {
    let decoded: Uint8Array;
    try {
      decoded = nativeDecode(text, URL_SAFE);
    } catch {
      throw new InvalidMessageError('invalid base64url character');
    }
    // The built-in decoder allows whitespace, padding and stray bits; only canonical,
    // unpadded base64url encodes back to the very same text.
    if (nativeEncode.call(decoded, URL_SAFE) !== text) {
      throw new InvalidMessageError('invalid or non-canonical base64url');
    }
    return decoded;
  }
  return fromBase64UrlJs(text);
}

/** The JavaScript decoder, for browsers without `Uint8Array.fromBase64`. */
export function fromBase64UrlJs(text: string): Uint8Array {
  if (text.length % 4 === 1) throw new InvalidMessageError('invalid base64url length');
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const v = code < 128 ? B64URL_LOOKUP[code]! : -1;
    if (v < 0) throw new InvalidMessageError('invalid base64url character');
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  // Canonical encoding only: leftover bits must be zero.
  if ((acc & ((1 << bits) - 1)) !== 0) throw new InvalidMessageError('non-canonical base64url');
  return out;
}
