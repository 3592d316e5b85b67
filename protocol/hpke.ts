/**
 * Hybrid encryption for token.place: HPKE (RFC 9180) base mode for requests, and
 * Oblivious-HTTP-style chunked responses (RFC 9458 §4.4 and the chunked OHTTP draft).
 *
 * Suite: DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-128-GCM
 * (KEM 0x0020, KDF 0x0001, AEAD 0x0001).
 *
 * The HPKE state machine is `@hpke/core`'s everywhere; the primitives under it come from
 * `platform.ts` (Node: synchronous HKDF and OpenSSL AES-GCM, because Node's WebCrypto
 * costs ~50-100 µs a call and a response seals one chunk per token) or
 * `platform.browser.ts` (browsers: WebCrypto, fast there, with the same synchronous HKDF). The RFC 9180
 * known-answer tests in tests/protocol check both byte for byte.
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
import type { CipherSuite } from '@hpke/core';
import { expand, extract } from '@noble/hashes/hkdf.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { concat, toArrayBuffer, toHex, utf8 } from './bytes.js';
import { INFERENCE_PROTOCOL, MAX_CHUNKS_PER_RESPONSE, RESPONSE_NONCE_BYTES } from './constants.js';
import { randomBytes, sha256, webCrypto } from './crypto.js';
import { DecryptionError, InvalidMessageError, TruncatedResponseError } from './errors.js';
import { createChunkAead, createPlatformSuite, type ChunkAead } from './platform.js';

/** The one suite token.place speaks, as RFC 9180 identifiers. */
export const HPKE_SUITE = { kem: 0x0020, kdf: 0x0001, aead: 0x0001 } as const;
export type HpkeSuiteIds = typeof HPKE_SUITE;

/** Bytes of an X25519 public key and of `enc`. */
export const X25519_PUBLIC_KEY_BYTES = 32;
/** Exporter label for the response secret (our analogue of OHTTP's "message/bhttp response"). */
export const RESPONSE_EXPORT_LABEL = `${INFERENCE_PROTOCOL} response`;
/** AES-128-GCM: Nk = 16, Nn = 12. The response secret is max(Nk, Nn) = 16 bytes (RFC 9458 §4.4). */
const AEAD_KEY_BYTES = 16;
const AEAD_NONCE_BYTES = 12;
const FINAL_AAD = utf8('final');
const EMPTY = new Uint8Array(0);

/**
 * Builds the suite explicitly (tests, benchmarks): `native` uses the platform's X25519
 * (OpenSSL in Node, WebCrypto in browsers), `js` the pure-JS X25519 of
 * @hpke/dhkem-x25519. Production code calls `getSuite()`.
 */
export function createCipherSuite(kem: 'native' | 'js'): CipherSuite {
  return createPlatformSuite(kem);
}

let suitePromise: Promise<CipherSuite> | undefined;

/** The process-wide suite: WebCrypto X25519 when the platform has it, JS otherwise. */
export function getSuite(): Promise<CipherSuite> {
  suitePromise ??= (async () => {
    const subtle = webCrypto().subtle;
    try {
      await subtle.generateKey({ name: 'X25519' }, false, ['deriveBits']);
      return createCipherSuite('native');
    } catch {
      return createCipherSuite('js');
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

/** Imported node keys, so a client sealing many requests to one node imports its key once. */
const importedKeys = new Map<string, CryptoKey>();
const IMPORTED_KEYS_MAX = 64;

async function importPublicKey(suite: CipherSuite, publicKey: Uint8Array): Promise<CryptoKey> {
  const id = toHex(publicKey);
  let key = importedKeys.get(id);
  if (key == null) {
    key = await suite.kem.deserializePublicKey(toArrayBuffer(publicKey));
    if (importedKeys.size >= IMPORTED_KEYS_MAX)
      importedKeys.delete(importedKeys.keys().next().value!);
    importedKeys.set(id, key);
  }
  return key;
}

export interface SealedToKey {
  enc: Uint8Array;
  ct: Uint8Array;
  /** Export secret for the response (never leaves the client). */
  secret: Uint8Array;
}

/**
 * A sender context set up before its message exists: the encapsulation (a fresh X25519
 * key agreement) and the key schedule are done, and the response secret is exported
 * (the exporter does not depend on the message). Sealing is then one AEAD call. A
 * prepared seal is for exactly one message.
 */
export interface PreparedSeal {
  readonly enc: Uint8Array;
  /** Seals this context's one message; a second call throws. */
  seal(plaintext: Uint8Array): Promise<SealedToKey>;
}

/** Client side: a fresh encapsulation to `publicKey`, ready for one message. */
export async function prepareSeal(publicKey: Uint8Array, info: Uint8Array): Promise<PreparedSeal> {
  if (publicKey.length !== X25519_PUBLIC_KEY_BYTES) {
    throw new InvalidMessageError('HPKE public key must be 32 bytes');
  }
  const suite = await getSuite();
  const recipientPublicKey = await importPublicKey(suite, publicKey);
  const sender = await suite.createSenderContext({ recipientPublicKey, info });
  const secret = new Uint8Array(await sender.export(utf8(RESPONSE_EXPORT_LABEL), AEAD_KEY_BYTES));
  const enc = new Uint8Array(sender.enc);
  let used = false;
  return {
    enc,
    async seal(plaintext) {
      if (used) throw new Error('this HPKE context has sealed its message already');
      used = true;
      const ct = new Uint8Array(await sender.seal(toArrayBuffer(plaintext)));
      return { enc, ct, secret };
    },
  };
}

/** Client side: a fresh encapsulation to `publicKey`, one sealed message. */
export async function sealToKey(
  publicKey: Uint8Array,
  info: Uint8Array,
  plaintext: Uint8Array,
): Promise<SealedToKey> {
  return (await prepareSeal(publicKey, info)).seal(plaintext);
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

/** `base_nonce XOR I2OSP(counter, 12)`: the nonce of chunk `counter` (RFC 9180 §5.2 style). */
export function chunkNonce(baseNonce: Uint8Array, counter: number): Uint8Array {
  const nonce = baseNonce.slice();
  let c = counter;
  for (let i = nonce.length - 1; i >= 0 && c > 0; i--) {
    nonce[i]! ^= c & 0xff;
    c = Math.floor(c / 256);
  }
  return nonce;
}

/**
 * The response AEAD, shared by both ends: key and base nonce from
 * `HKDF(salt = enc || response_nonce, ikm = export secret)` as in RFC 9458 §4.4; chunk
 * `i` uses `base_nonce XOR i` and the last chunk has AAD `"final"`.
 */
class ChunkCipher {
  readonly #aead: ChunkAead;
  readonly #baseNonce: Uint8Array;
  #counter = 0;
  #finished = false;
  #poisoned = false;

  constructor(secret: Uint8Array, enc: Uint8Array, responseNonce: Uint8Array) {
    if (responseNonce.length !== RESPONSE_NONCE_BYTES) {
      throw new InvalidMessageError(`response nonce must be ${RESPONSE_NONCE_BYTES} bytes`);
    }
    const prk = extract(nobleSha256, secret, concat(enc, responseNonce));
    this.#aead = createChunkAead(expand(nobleSha256, prk, utf8('key'), AEAD_KEY_BYTES));
    this.#baseNonce = expand(nobleSha256, prk, utf8('nonce'), AEAD_NONCE_BYTES);
  }

  get finished(): boolean {
    return this.#finished;
  }

  /** Claims the next counter; synchronous, so calls are ordered even when awaited later. */
  #next(final: boolean): { nonce: Uint8Array; aad: Uint8Array } {
    if (this.#poisoned) throw new DecryptionError();
    if (this.#finished) throw new DecryptionError('chunk after the final chunk');
    if (this.#counter >= MAX_CHUNKS_PER_RESPONSE) throw new DecryptionError('too many chunks');
    const nonce = chunkNonce(this.#baseNonce, this.#counter++);
    if (final) this.#finished = true;
    return { nonce, aad: final ? FINAL_AAD : EMPTY };
  }

  seal(plaintext: Uint8Array, final: boolean): Promise<Uint8Array> {
    const { nonce, aad } = this.#next(final);
    return this.#aead.seal(nonce, aad, plaintext);
  }

  // Not an async function: one promise per chunk, on the per-token path.
  open(ciphertext: Uint8Array, final: boolean): Promise<Uint8Array> {
    let opened: Promise<Uint8Array>;
    try {
      const { nonce, aad } = this.#next(final);
      opened = this.#aead.open(nonce, aad, ciphertext);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return opened.catch(() => {
      // A failed chunk poisons the stream: nothing after it can be trusted, and a
      // forged "final" flag must not count as the end of the response.
      this.#poisoned = true;
      this.#finished = false;
      throw new DecryptionError();
    });
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

  seal(plaintext: Uint8Array, final: boolean): Promise<Uint8Array> {
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

  open(ciphertext: Uint8Array, final: boolean): Promise<Uint8Array> {
    if (this.#cipher == null) throw new InvalidMessageError('chunk before the response nonce');
    return this.#cipher.open(ciphertext, final);
  }

  /** Call at end of stream: throws `TruncatedResponseError` unless the final chunk opened. */
  end(): void {
    if (!this.finished) throw new TruncatedResponseError();
  }
}
