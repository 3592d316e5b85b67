/**
 * HKDF-SHA256 (RFC 5869) for @hpke/core's key schedule, computed synchronously by
 * @noble/hashes: WebCrypto's HKDF is an import plus a sign per step, each a round trip
 * to a crypto thread. Platform-neutral; both crypto twins use it.
 */
import { HkdfSha256Native } from '@hpke/common';
import { expand, extract } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesOf, toArrayBuffer } from './bytes.js';

export class NobleHkdfSha256 extends HkdfSha256Native {
  override async extract(
    salt: ArrayBufferLike | ArrayBufferView,
    ikm: ArrayBufferLike | ArrayBufferView,
  ): Promise<ArrayBuffer> {
    const s = bytesOf(salt);
    return toArrayBuffer(
      extract(sha256, bytesOf(ikm), s.byteLength === 0 ? new Uint8Array(32) : s),
    );
  }

  override async expand(
    prk: ArrayBufferLike | ArrayBufferView,
    info: ArrayBufferLike | ArrayBufferView,
    len: number,
  ): Promise<ArrayBuffer> {
    return toArrayBuffer(expand(sha256, bytesOf(prk), bytesOf(info), len));
  }

  override async extractAndExpand(
    salt: ArrayBufferLike | ArrayBufferView,
    ikm: ArrayBufferLike | ArrayBufferView,
    info: ArrayBufferLike | ArrayBufferView,
    len: number,
  ): Promise<ArrayBuffer> {
    return toArrayBuffer(
      expand(sha256, extract(sha256, bytesOf(ikm), bytesOf(salt)), bytesOf(info), len),
    );
  }
}
