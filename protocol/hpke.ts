/**
 * Hybrid encryption for token.place: HPKE (RFC 9180) base mode for requests, and
 * Oblivious-HTTP-style chunked responses (RFC 9458 §4.4 and the chunked OHTTP draft).
 *
 * Suite: DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / ChaCha20-Poly1305
 * (KEM 0x0020, KDF 0x0001, AEAD 0x0003).
 *
 * The HPKE state machine is `@hpke/core`'s. The KEM is its WebCrypto X25519 (the JS
 * X25519 of `@hpke/dhkem-x25519` where a browser lacks WebCrypto X25519). The suite KDF
 * and AEAD are adapters over `@noble/hashes` HKDF and a synchronous ChaCha20-Poly1305
 * (`aead.ts`: OpenSSL in Node, @noble/ciphers in browsers): synchronous matters because
 * Node's WebCrypto costs ~50-100 µs a call and a response seals one chunk per token. The RFC 9180 known-answer tests in
 * tests/protocol prove the adapters produce the standard's bytes.
 *
 * Protocol flow (one request):
 * 1. client: `sealToKey(nodePublicKey, info, plaintext)` -> `enc`, `ct`, export secret
 * 2. node: `openWithKey(nodeKeyPair, enc, info, ct)` -> plaintext, the same export secret
 * 3. node: `ResponseSealer.create(secret, enc)`; sends `sealer.nonce`, then
 *    `sealer.seal(chunk, final)` per chunk, the last one with `final = true`
 * 4. client: `new ResponseOpener(secret, enc)`, `begin(nonce)`, `open(ct, final)` per
 *    chunk, then `end()`, which throws if the final chunk never came.
 *
 * @example
 * ```ts
 * const key = await generateHpkeKeyPair();
 * const info = requestInfo(peerId, key.keyId);
 * const sealed = await sealToKey(key.publicKey, info, utf8('hello'));
 * const opened = await openWithKey(key.keyPair, sealed.enc, info, sealed.ct);
 * ```
 */
import {
  AeadId,
  CipherSuite,
  DhkemX25519HkdfSha256 as WebCryptoX25519Kem,
  Aes128Gcm,
} from '@hpke/core';
import type { AeadEncryptionContext, AeadInterface } from '@hpke/core';
import { HkdfSha256Native } from '@hpke/common';
import { DhkemX25519HkdfSha256 as JsX25519Kem } from '@hpke/dhkem-x25519';
import { expand, extract } from '@noble/hashes/hkdf.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { chachaOpen, chachaSeal } from './aead.js';
import { concat, toHex, utf8 } from './bytes.js';
import { INFERENCE_PROTOCOL, MAX_CHUNKS_PER_RESPONSE, RESPONSE_NONCE_BYTES } from './constants.js';
import { randomBytes, sha256, webCrypto } from './crypto.js';
import { DecryptionError, InvalidMessageError, TruncatedResponseError } from './errors.js';

/** The one suite token.place speaks, as RFC 9180 identifiers. */
export const HPKE_SUITE = { kem: 0x0020, kdf: 0x0001, aead: 0x0003 } as const;
export type HpkeSuiteIds = typeof HPKE_SUITE;

/** Bytes of an X25519 public key and of `enc`. */
export const X25519_PUBLIC_KEY_BYTES = 32;
/** Exporter label for the response secret (our analogue of OHTTP's "message/bhttp response"). */
export const RESPONSE_EXPORT_LABEL = `${INFERENCE_PROTOCOL} response`;
const AEAD_KEY_BYTES = 32;
const AEAD_NONCE_BYTES = 12;
const AEAD_TAG_BYTES = 16;
const FINAL_AAD = utf8('final');
const EMPTY = new Uint8Array(0);

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

/** RFC 5869 HKDF-SHA256 for @hpke/core's key schedule, computed synchronously by noble. */
export class NobleHkdfSha256 extends HkdfSha256Native {
  override async extract(
    salt: ArrayBufferLike | ArrayBufferView,
    ikm: ArrayBufferLike | ArrayBufferView,
  ): Promise<ArrayBuffer> {
    const s = view(salt);
    return toArrayBuffer(
      extract(nobleSha256, view(ikm), s.byteLength === 0 ? new Uint8Array(32) : s),
    );
  }

  override async expand(
    prk: ArrayBufferLike | ArrayBufferView,
    info: ArrayBufferLike | ArrayBufferView,
    len: number,
  ): Promise<ArrayBuffer> {
    return toArrayBuffer(expand(nobleSha256, view(prk), view(info), len));
  }

  override async extractAndExpand(
    salt: ArrayBufferLike | ArrayBufferView,
    ikm: ArrayBufferLike | ArrayBufferView,
    info: ArrayBufferLike | ArrayBufferView,
    len: number,
  ): Promise<ArrayBuffer> {
    const prk = extract(nobleSha256, view(ikm), view(salt));
    return toArrayBuffer(expand(nobleSha256, prk, view(info), len));
  }
}

/** ChaCha20-Poly1305 (RFC 8439) for @hpke/core, computed synchronously (see aead.ts). */
export class SyncChaCha20Poly1305 implements AeadInterface {
  readonly id = AeadId.Chacha20Poly1305;
  readonly keySize = AEAD_KEY_BYTES;
  readonly nonceSize = AEAD_NONCE_BYTES;
  readonly tagSize = AEAD_TAG_BYTES;

  createEncryptionContext(key: ArrayBufferLike | ArrayBufferView): AeadEncryptionContext {
    const k = view(key).slice();
    return {
      seal: async (iv, data, aad) => toArrayBuffer(chachaSeal(k, view(iv), view(aad), view(data))),
      open: async (iv, data, aad) => toArrayBuffer(chachaOpen(k, view(iv), view(aad), view(data))),
    };
  }
}

export interface CipherSuiteOptions {
  /** `webcrypto`: @hpke/core's X25519 over WebCrypto; `js`: @hpke/dhkem-x25519. */
  kem: 'webcrypto' | 'js';
  /** The token.place suite uses ChaCha20-Poly1305; AES-128-GCM exists for RFC vector A.1. */
  aead?: 'chacha20poly1305' | 'aes128gcm';
}

/** Builds a suite explicitly (tests, benchmarks). Production code calls `getSuite()`. */
export function createCipherSuite(options: CipherSuiteOptions): CipherSuite {
  return new CipherSuite({
    kem: options.kem === 'webcrypto' ? new WebCryptoX25519Kem() : new JsX25519Kem(),
    kdf: new NobleHkdfSha256(),
    aead: options.aead === 'aes128gcm' ? new Aes128Gcm() : new SyncChaCha20Poly1305(),
  });
}

let suitePromise: Promise<CipherSuite> | undefined;

/** The process-wide suite: WebCrypto X25519 when the platform has it, JS otherwise. */
export function getSuite(): Promise<CipherSuite> {
  suitePromise ??= (async () => {
    const subtle = webCrypto().subtle;
    try {
      await subtle.generateKey({ name: 'X25519' }, false, ['deriveBits']);
      return createCipherSuite({ kem: 'webcrypto' });
    } catch {
      return createCipherSuite({ kem: 'js' });
    }
  })();
  return suitePromise;
}

/** A node's HPKE key pair with its public bytes and key id. */
export interface HpkeKeyPair {
  keyId: string;
  publicKey: Uint8Array;
  keyPair: CryptoKeyPair;
}

/** Key id: the first 8 bytes of SHA-256(public key), hex (16 chars). */
export function keyIdOf(publicKey: Uint8Array): string {
  return toHex(sha256(publicKey).subarray(0, 8));
}

/**
 * Human-comparable fingerprint of an HPKE public key: the first 16 bytes of its
 * SHA-256 in groups of four hex digits (`ab12 cd34 …`). The UI shows this.
 */
export function fingerprintOf(publicKey: Uint8Array): string {
  return toHex(sha256(publicKey).subarray(0, 16)).replace(/(.{4})(?!$)/g, '$1 ');
}

export async function generateHpkeKeyPair(): Promise<HpkeKeyPair> {
  const suite = await getSuite();
  const keyPair = await suite.kem.generateKeyPair();
  const publicKey = new Uint8Array(await suite.kem.serializePublicKey(keyPair.publicKey));
  return { keyId: keyIdOf(publicKey), publicKey, keyPair };
}

/**
 * The HPKE `info` of a request: binds the protocol id, the node's PeerId and the key id,
 * so a request sealed for one node or key cannot be opened as if meant for another.
 * `"/tokenplace/inference/1.0.0" 0x00 peerId 0x00 keyId` (UTF-8).
 */
export function requestInfo(peerId: string, keyId: string): Uint8Array {
  return concat(
    utf8(INFERENCE_PROTOCOL),
    new Uint8Array([0]),
    utf8(peerId),
    new Uint8Array([0]),
    utf8(keyId),
  );
}

export interface SealedToKey {
  enc: Uint8Array;
  ct: Uint8Array;
  /** Export secret for the response (never leaves the client). */
  secret: Uint8Array;
}

/** Client side: a fresh encapsulation to `publicKey`, one sealed message. */
export async function sealToKey(
  publicKey: Uint8Array,
  info: Uint8Array,
  plaintext: Uint8Array,
): Promise<SealedToKey> {
  if (publicKey.length !== X25519_PUBLIC_KEY_BYTES) {
    throw new InvalidMessageError('HPKE public key must be 32 bytes');
  }
  const suite = await getSuite();
  const recipientPublicKey = await suite.kem.deserializePublicKey(toArrayBuffer(publicKey));
  const sender = await suite.createSenderContext({ recipientPublicKey, info });
  const ct = new Uint8Array(await sender.seal(toArrayBuffer(plaintext)));
  const secret = new Uint8Array(await sender.export(utf8(RESPONSE_EXPORT_LABEL), AEAD_KEY_BYTES));
  return { enc: new Uint8Array(sender.enc), ct, secret };
}

/**
 * Node side: opens one sealed message. Every failure (bad `enc`, wrong key, flipped
 * byte) is the same `DecryptionError`, so an attacker learns nothing from the reason.
 */
export async function openWithKey(
  keyPair: CryptoKeyPair,
  enc: Uint8Array,
  info: Uint8Array,
  ct: Uint8Array,
): Promise<{ plaintext: Uint8Array; secret: Uint8Array }> {
  const suite = await getSuite();
  try {
    if (enc.length !== X25519_PUBLIC_KEY_BYTES) throw new Error('enc length');
    const recipient = await suite.createRecipientContext({
      recipientKey: keyPair,
      enc: toArrayBuffer(enc),
      info,
    });
    const plaintext = new Uint8Array(await recipient.open(toArrayBuffer(ct)));
    const secret = new Uint8Array(
      await recipient.export(utf8(RESPONSE_EXPORT_LABEL), AEAD_KEY_BYTES),
    );
    return { plaintext, secret };
  } catch {
    throw new DecryptionError();
  }
}

/**
 * The response AEAD, shared by both ends: key and base nonce from
 * `HKDF(salt = enc || response_nonce, ikm = export secret)` as in RFC 9458 §4.4; chunk
 * `i` uses `base_nonce XOR i` (big-endian) and the last chunk has AAD `"final"`.
 */
class ChunkCipher {
  #key: Uint8Array;
  #baseNonce: Uint8Array;
  #counter = 0;
  #finished = false;
  #poisoned = false;

  constructor(secret: Uint8Array, enc: Uint8Array, responseNonce: Uint8Array) {
    if (responseNonce.length !== RESPONSE_NONCE_BYTES) {
      throw new InvalidMessageError('response nonce must be 32 bytes');
    }
    const prk = extract(nobleSha256, secret, concat(enc, responseNonce));
    this.#key = expand(nobleSha256, prk, utf8('key'), AEAD_KEY_BYTES);
    this.#baseNonce = expand(nobleSha256, prk, utf8('nonce'), AEAD_NONCE_BYTES);
  }

  get finished(): boolean {
    return this.#finished;
  }

  get count(): number {
    return this.#counter;
  }

  #next(final: boolean): { nonce: Uint8Array; aad: Uint8Array } {
    if (this.#poisoned) throw new DecryptionError();
    if (this.#finished) throw new DecryptionError('chunk after the final chunk');
    if (this.#counter >= MAX_CHUNKS_PER_RESPONSE) throw new DecryptionError('too many chunks');
    const nonce = this.#baseNonce.slice();
    let c = this.#counter++;
    for (let i = AEAD_NONCE_BYTES - 1; i >= AEAD_NONCE_BYTES - 6 && c > 0; i--) {
      nonce[i]! ^= c & 0xff;
      c = Math.floor(c / 256);
    }
    return { nonce, aad: final ? FINAL_AAD : EMPTY };
  }

  seal(plaintext: Uint8Array, final: boolean): Uint8Array {
    const { nonce, aad } = this.#next(final);
    const ciphertext = chachaSeal(this.#key, nonce, aad, plaintext);
    if (final) this.#finished = true;
    return ciphertext;
  }

  open(ciphertext: Uint8Array, final: boolean): Uint8Array {
    const { nonce, aad } = this.#next(final);
    let plaintext: Uint8Array;
    try {
      plaintext = chachaOpen(this.#key, nonce, aad, ciphertext);
    } catch {
      // A failed chunk poisons the stream: nothing after it can be trusted.
      this.#poisoned = true;
      throw new DecryptionError();
    }
    if (final) this.#finished = true;
    return plaintext;
  }
}

/** Node side: seals the chunks of one response. */
export class ResponseSealer {
  /** Random response nonce; send it to the client before the first chunk. */
  readonly nonce: Uint8Array;
  #cipher: ChunkCipher;

  private constructor(secret: Uint8Array, enc: Uint8Array, nonce: Uint8Array) {
    this.nonce = nonce;
    this.#cipher = new ChunkCipher(secret, enc, nonce);
  }

  /** `nonce` is for known-answer tests only; production lets it be random. */
  static create(
    secret: Uint8Array,
    enc: Uint8Array,
    nonce = randomBytes(RESPONSE_NONCE_BYTES),
  ): ResponseSealer {
    return new ResponseSealer(secret, enc, nonce);
  }

  get finished(): boolean {
    return this.#cipher.finished;
  }

  seal(plaintext: Uint8Array, final: boolean): Uint8Array {
    return this.#cipher.seal(plaintext, final);
  }
}

/** Client side: opens the chunks of one response, in order, and insists on the final one. */
export class ResponseOpener {
  readonly #secret: Uint8Array;
  readonly #enc: Uint8Array;
  #cipher: ChunkCipher | undefined;

  constructor(secret: Uint8Array, enc: Uint8Array) {
    this.#secret = secret;
    this.#enc = enc;
  }

  /** Takes the node's response nonce; must come before the first chunk. */
  begin(responseNonce: Uint8Array): void {
    if (this.#cipher != null) throw new InvalidMessageError('response nonce sent twice');
    this.#cipher = new ChunkCipher(this.#secret, this.#enc, responseNonce);
  }

  get finished(): boolean {
    return this.#cipher?.finished ?? false;
  }

  open(ciphertext: Uint8Array, final: boolean): Uint8Array {
    if (this.#cipher == null) throw new InvalidMessageError('chunk before the response nonce');
    return this.#cipher.open(ciphertext, final);
  }

  /** Call at end of stream: throws `TruncatedResponseError` unless the final chunk opened. */
  end(): void {
    if (!this.finished) throw new TruncatedResponseError();
  }
}
