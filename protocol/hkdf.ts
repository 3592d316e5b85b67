/**
 * HKDF-SHA256 (RFC 5869) for @hpke/core's key schedule, computed synchronously by
 * @noble/hashes: WebCrypto's HKDF is an import plus a sign per step, each a round trip
 * to a crypto thread. Platform-neutral; both crypto twins use it.
 */
import { HkdfSha256Native } from '@hpke/common';
import { expand, extract } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';

function view(data: ArrayBufferLike | ArrayBufferView): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data))
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    ? (bytes.buffer as ArrayBuffer)
    : (bytes.slice().buffer as ArrayBuffer);
}

export class NobleHkdfSha256 extends HkdfSha256Native {
  override async extract(
    salt: ArrayBufferLike | ArrayBufferView,
    ikm: ArrayBufferLike | ArrayBufferView,
  ): Promise<ArrayBuffer> {
    const s = view(salt);
    return toArrayBuffer(extract(sha256, view(ikm), s.byteLength === 0 ? new Uint8Array(32) : s));
  }

  override async expand(
    prk: ArrayBufferLike | ArrayBufferView,
    info: ArrayBufferLike | ArrayBufferView,
    len: number,
  ): Promise<ArrayBuffer> {
    return toArrayBuffer(expand(sha256, view(prk), view(info), len));
  }

  override async extractAndExpand(
    salt: ArrayBufferLike | ArrayBufferView,
    ikm: ArrayBufferLike | ArrayBufferView,
    info: ArrayBufferLike | ArrayBufferView,
    len: number,
  ): Promise<ArrayBuffer> {
    return toArrayBuffer(expand(sha256, extract(sha256, view(ikm), view(salt)), view(info), len));
  }
}
