/**
 * Node's cryptographic twin (browsers load `platform.browser.ts`): the fastest way each
 * platform does the token.place suite, DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 /
 * AES-128-GCM.
 *
 * Node's WebCrypto costs ~50-100 µs a call, so here: @hpke/core's state machine and its
 * WebCrypto X25519, but HKDF computed synchronously by @noble/hashes and AES-128-GCM by
 * OpenSSL through `node:crypto` (synchronous). The RFC 9180 vectors in tests/protocol
 * check this configuration byte for byte; the browser twin is plain @hpke/core on
 * WebCrypto and passes the same vectors in Chromium.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { AeadId, CipherSuite, DhkemX25519HkdfSha256 as WebCryptoX25519Kem } from '@hpke/core';
import type { AeadEncryptionContext, AeadInterface, KdfInterface } from '@hpke/core';
import { Dhkem, HkdfSha256Native, KemId, type DhkemPrimitives } from '@hpke/common';
import { X25519 as JsX25519Primitive } from '@hpke/dhkem-x25519';
import { expand, extract } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';

const KEY_BYTES = 16;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

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

function gcmSeal(
  key: Uint8Array,
  nonce: Uint8Array,
  aad: Uint8Array,
  plaintext: Uint8Array,
): Uint8Array {
  const cipher = createCipheriv('aes-128-gcm', key, nonce, { authTagLength: TAG_BYTES });
  if (aad.length > 0) cipher.setAAD(aad);
  const body = cipher.update(plaintext);
  cipher.final();
  const out = new Uint8Array(body.length + TAG_BYTES);
  out.set(body, 0);
  out.set(cipher.getAuthTag(), body.length);
  return out;
}

function gcmOpen(
  key: Uint8Array,
  nonce: Uint8Array,
  aad: Uint8Array,
  ciphertext: Uint8Array,
): Uint8Array {
  if (ciphertext.length < TAG_BYTES) throw new Error('ciphertext too short');
  const decipher = createDecipheriv('aes-128-gcm', key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - TAG_BYTES));
  if (aad.length > 0) decipher.setAAD(aad);
  const body = decipher.update(ciphertext.subarray(0, ciphertext.length - TAG_BYTES));
  decipher.final(); // throws when the tag does not verify
  return new Uint8Array(body.buffer, body.byteOffset, body.length);
}

/** A symmetric AES-128-GCM key for response chunks. */
export interface ChunkAead {
  seal(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array>;
  /** Rejects when the ciphertext does not authenticate. */
  open(nonce: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array>;
}

export function createChunkAead(key: Uint8Array): ChunkAead {
  const k = key.slice();
  return {
    seal: async (nonce, aad, plaintext) => gcmSeal(k, nonce, aad, plaintext),
    open: async (nonce, aad, ciphertext) => gcmOpen(k, nonce, aad, ciphertext),
  };
}

/** RFC 5869 HKDF-SHA256 for @hpke/core, computed synchronously by noble. */
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

/** AES-128-GCM for @hpke/core, computed synchronously by OpenSSL. */
class NodeAes128Gcm implements AeadInterface {
  readonly id = AeadId.Aes128Gcm;
  readonly keySize = KEY_BYTES;
  readonly nonceSize = NONCE_BYTES;
  readonly tagSize = TAG_BYTES;

  createEncryptionContext(key: ArrayBufferLike | ArrayBufferView): AeadEncryptionContext {
    const k = view(key).slice();
    return {
      seal: async (iv, data, aad) => toArrayBuffer(gcmSeal(k, view(iv), view(aad), view(data))),
      open: async (iv, data, aad) => toArrayBuffer(gcmOpen(k, view(iv), view(aad), view(data))),
    };
  }
}

type PrimitiveClass = new (kdf: KdfInterface) => DhkemPrimitives;

/**
 * @hpke/core's WebCrypto X25519 primitive. The package exports only the finished KEM,
 * whose internal HKDF is WebCrypto's; taking the primitive's class from a KEM instance
 * lets us pair it with the synchronous HKDF instead.
 */
const WebCryptoX25519Primitive = (new WebCryptoX25519Kem() as unknown as { _prim: object })._prim
  .constructor as PrimitiveClass;

/** DHKEM(X25519, HKDF-SHA256): @hpke/common's Dhkem over an X25519 primitive, noble HKDF. */
class X25519Kem extends Dhkem {
  override readonly secretSize = 32;
  override readonly encSize = 32;
  override readonly publicKeySize = 32;
  override readonly privateKeySize = 32;

  constructor(primitive: PrimitiveClass) {
    const kdf = new NobleHkdfSha256();
    super(KemId.DhkemX25519HkdfSha256, new primitive(kdf), kdf);
  }
}

/** The token.place suite for this platform. `js` uses a pure-JS X25519 (no WebCrypto X25519). */
export function createPlatformSuite(kem: 'webcrypto' | 'js'): CipherSuite {
  return new CipherSuite({
    kem: new X25519Kem(
      kem === 'webcrypto'
        ? WebCryptoX25519Primitive
        : (JsX25519Primitive as unknown as PrimitiveClass),
    ),
    kdf: new NobleHkdfSha256(),
    aead: new NodeAes128Gcm(),
  });
}
