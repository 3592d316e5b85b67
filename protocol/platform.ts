/**
 * Node's cryptographic twin (browsers load `platform.browser.ts`): the fastest way each
 * platform does the token.place suite, DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 /
 * AES-128-GCM.
 *
 * Node's WebCrypto costs ~50-100 µs a call plus a thread-pool hop, so here: @hpke/core's
 * state machine with X25519 and AES-128-GCM by OpenSSL through `node:crypto` and HKDF by
 * @noble/hashes, all synchronous. The RFC 9180 vectors in tests/protocol
 * check this configuration byte for byte; the browser twin is plain @hpke/core on
 * WebCrypto and passes the same vectors in Chromium.
 */
import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { AeadId, CipherSuite } from '@hpke/core';
import type { AeadEncryptionContext, AeadInterface, KdfInterface } from '@hpke/core';
import {
  Dhkem,
  KEM_USAGES,
  KemId,
  XCryptoKey,
  XCurveDhkemPrimitives,
  type DhkemPrimitives,
} from '@hpke/common';
import { X25519 as JsX25519Primitive } from '@hpke/dhkem-x25519';
import { NobleHkdfSha256 } from './hkdf.js';
import { bytesOf, toArrayBuffer } from './bytes.js';

const KEY_BYTES = 16;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

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

/** AES-128-GCM for @hpke/core, computed synchronously by OpenSSL. */
class NodeAes128Gcm implements AeadInterface {
  readonly id = AeadId.Aes128Gcm;
  readonly keySize = KEY_BYTES;
  readonly nonceSize = NONCE_BYTES;
  readonly tagSize = TAG_BYTES;

  createEncryptionContext(key: ArrayBufferLike | ArrayBufferView): AeadEncryptionContext {
    const k = bytesOf(key).slice();
    return {
      seal: async (iv, data, aad) =>
        toArrayBuffer(gcmSeal(k, bytesOf(iv), bytesOf(aad), bytesOf(data))),
      open: async (iv, data, aad) =>
        toArrayBuffer(gcmOpen(k, bytesOf(iv), bytesOf(aad), bytesOf(data))),
    };
  }
}

type PrimitiveClass = new (kdf: KdfInterface) => DhkemPrimitives;

const b64u = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');
const fromB64u = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'base64url'));

/** OpenSSL key objects of raw private keys: a node's own key is imported once, not per request. */
const privateKeyObjects = new WeakMap<Uint8Array, KeyObject>();

function privateKeyObject(sk: Uint8Array): KeyObject {
  let key = privateKeyObjects.get(sk);
  if (key == null) {
    // JWK import is ~10x faster than DER here (no OpenSSL decoder); `x` is not read for
    // a private key, but must be a string.
    key = createPrivateKey({
      key: { kty: 'OKP', crv: 'X25519', d: b64u(sk), x: '' },
      format: 'jwk',
    });
    privateKeyObjects.set(sk, key);
  }
  return key;
}

/**
 * X25519 (RFC 7748) by OpenSSL through `node:crypto`, synchronous: Node's WebCrypto runs
 * each X25519 step on the thread pool, and the hops cost more than the arithmetic. The
 * shape is the one @hpke/common's X-curve primitives expect (that of noble's `x25519`).
 */
const nodeX25519 = {
  utils: { randomSecretKey: (): Uint8Array => new Uint8Array(randomBytes(32)) },
  getPublicKey(sk: Uint8Array): Uint8Array {
    return fromB64u(createPublicKey(privateKeyObject(sk)).export({ format: 'jwk' }).x!);
  },
  getSharedSecret(sk: Uint8Array, pk: Uint8Array): Uint8Array {
    // OpenSSL refuses low-order points (an all-zero shared secret), as RFC 9180 §7.1.4 asks.
    const publicKey = createPublicKey({
      key: { kty: 'OKP', crv: 'X25519', x: b64u(pk) },
      format: 'jwk',
    });
    return new Uint8Array(diffieHellman({ privateKey: privateKeyObject(sk), publicKey }));
  },
};

class NodeX25519Primitive extends XCurveDhkemPrimitives {
  constructor(hkdf: KdfInterface) {
    super('X25519', 32, nodeX25519 as never, hkdf);
  }

  /** One OpenSSL key generation instead of random bytes plus a public-key derivation. */
  override async generateKeyPair(): Promise<CryptoKeyPair> {
    const pair = generateKeyPairSync('x25519');
    const jwk = pair.privateKey.export({ format: 'jwk' });
    const sk = fromB64u(jwk.d!);
    privateKeyObjects.set(sk, pair.privateKey);
    return {
      privateKey: new XCryptoKey('X25519', sk, 'private', KEM_USAGES) as unknown as CryptoKey,
      publicKey: new XCryptoKey('X25519', fromB64u(jwk.x!), 'public') as unknown as CryptoKey,
    };
  }
}

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

/**
 * The token.place suite for this platform. `native`: X25519 by OpenSSL; `js`: the pure-JS
 * X25519 of @hpke/dhkem-x25519 (kept so both paths stay tested).
 */
export function createPlatformSuite(kem: 'native' | 'js'): CipherSuite {
  return new CipherSuite({
    kem: new X25519Kem(
      kem === 'native' ? NodeX25519Primitive : (JsX25519Primitive as unknown as PrimitiveClass),
    ),
    kdf: new NobleHkdfSha256(),
    aead: new NodeAes128Gcm(),
  });
}
