/**
 * The node's HPKE keys: one current key, rotated every `rotationMs`, and the previous key
 * kept for `overlapMs` so requests sealed to it (in flight, or from a client's cached
 * record) still open. Keys live in memory only: a restart or a rotation forgets them,
 * which is what gives the node's side forward secrecy. Each key is published as a key
 * record signed by the node's identity key.
 */
import { logger } from '@libp2p/logger';
import type { PrivateKey } from '@libp2p/interface';
import {
  generateHpkeKeyPair,
  HPKE_SUITE,
  KEY_OVERLAP_MS,
  KEY_ROTATION_MS,
  signKeyRecord,
  toBase64Url,
  type HpkeKeyPair,
  type SignedEnvelope,
} from '../protocol/index.js';

const log = logger('tokenplace:node:keyring');

export interface KeyringInit {
  identity: PrivateKey;
  peerId: string;
  /** @default KEY_ROTATION_MS (24 h) */
  rotationMs?: number;
  /** @default KEY_OVERLAP_MS (1 h) */
  overlapMs?: number;
  /** @default Date.now */
  now?: () => number;
}

interface Entry {
  key: HpkeKeyPair;
  record: SignedEnvelope;
  notBefore: number;
  notAfter: number;
}

export class Keyring {
  readonly #init: Required<KeyringInit>;
  #entries: Entry[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(init: KeyringInit) {
    this.#init = { rotationMs: KEY_ROTATION_MS, overlapMs: KEY_OVERLAP_MS, now: Date.now, ...init };
  }

  async start(): Promise<void> {
    await this.rotate();
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#entries = [];
  }

  /** Makes a new current key; the old one stays usable until its record expires. */
  async rotate(): Promise<void> {
    const { identity, peerId, rotationMs, overlapMs, now } = this.#init;
    const key = await generateHpkeKeyPair();
    const notBefore = now();
    const notAfter = notBefore + rotationMs + overlapMs;
    const record = await signKeyRecord(identity, {
      type: 'key-record',
      v: 1,
      peerId,
      keyId: key.keyId,
      suite: { ...HPKE_SUITE },
      publicKey: toBase64Url(key.publicKey),
      notBefore,
      notAfter,
    });
    this.#entries = [{ key, record, notBefore, notAfter }, ...this.#prune(this.#entries)].slice(
      0,
      2,
    );
    log('rotated to key %s', key.keyId);
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.rotate().catch((err: unknown) =>
        log.error('key rotation failed: %s', (err as Error).name),
      );
    }, rotationMs);
    this.#timer.unref?.();
  }

  #prune(entries: Entry[]): Entry[] {
    const now = this.#init.now();
    return entries.filter((e) => e.notAfter > now);
  }

  /** The current key's id. */
  get currentKeyId(): string {
    const current = this.#entries[0];
    if (current == null) throw new Error('keyring not started');
    return current.key.keyId;
  }

  /** The current key's public bytes. */
  get currentPublicKey(): Uint8Array {
    const current = this.#entries[0];
    if (current == null) throw new Error('keyring not started');
    return current.key.publicKey;
  }

  /** Signed records of every usable key, current first. */
  records(): SignedEnvelope[] {
    return this.#prune(this.#entries).map((e) => e.record);
  }

  /** The key pair for `keyId` if the node still holds it. */
  keyFor(keyId: string): CryptoKeyPair | undefined {
    return this.#prune(this.#entries).find((e) => e.key.keyId === keyId)?.key.keyPair;
  }
}
