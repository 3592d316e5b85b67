/**
 * Signed key records and model cards.
 *
 * A node signs `domain || 0x00 || payload` with its libp2p identity key, where `domain`
 * separates record kinds (a model card can never pass as a key record) and `payload`
 * is the exact JSON bytes that travel in the envelope. Verification always takes the
 * PeerId the caller expects (the one Noise authenticated, or one pinned by the user):
 * the key that checks the signature comes from that PeerId, never from the record.
 *
 * @example
 * ```ts
 * const envelope = await signKeyRecord(identityKey, record);
 * const verified = await verifyKeyRecord(envelope, connection.remotePeer);
 * ```
 */
import { peerIdFromString } from '@libp2p/peer-id';
import type { PeerId, PrivateKey } from '@libp2p/interface';
import type { z } from 'zod/mini';
import { concat, fromBase64Url, fromUtf8, toBase64Url, utf8 } from './bytes.js';
import {
  InvalidMessageError,
  InvalidSignatureError,
  PeerIdMismatchError,
  RecordExpiredError,
} from './errors.js';
import { KeyRecord, ModelCard, SignedEnvelope } from './messages.js';

export const KEY_RECORD_DOMAIN = 'tokenplace/key-record/v1';
export const MODEL_CARD_DOMAIN = 'tokenplace/model-card/v1';

/** Allowed difference between the signer's and the verifier's clocks for validity windows. */
export const RECORD_CLOCK_TOLERANCE_MS = 2 * 60 * 1000;

function signedBytes(domain: string, payload: Uint8Array): Uint8Array {
  return concat(utf8(domain), new Uint8Array([0]), payload);
}

async function sign(domain: string, payload: object, key: PrivateKey): Promise<SignedEnvelope> {
  const bytes = utf8(JSON.stringify(payload));
  const sig = await key.sign(signedBytes(domain, bytes));
  return { payload: toBase64Url(bytes), sig: toBase64Url(sig) };
}

function peerIdOf(expected: PeerId | string): PeerId {
  if (typeof expected !== 'string') return expected;
  try {
    return peerIdFromString(expected);
  } catch {
    throw new InvalidMessageError('expected PeerId is not a valid PeerId');
  }
}

async function verify<T extends { peerId: string }>(
  domain: string,
  schema: z.ZodMiniType<T>,
  envelope: unknown,
  expected: PeerId | string,
): Promise<T> {
  const parsedEnvelope = SignedEnvelope.safeParse(envelope);
  if (!parsedEnvelope.success) throw new InvalidMessageError('malformed signed envelope');
  const peerId = peerIdOf(expected);
  const publicKey = peerId.publicKey;
  if (publicKey == null) {
    throw new InvalidSignatureError(
      'PeerId does not embed its public key (only Ed25519/secp256k1)',
    );
  }
  const payload = fromBase64Url(parsedEnvelope.data.payload);
  const sig = fromBase64Url(parsedEnvelope.data.sig);
  const ok = await Promise.resolve()
    .then(() => publicKey.verify(signedBytes(domain, payload), sig))
    .catch(() => false);
  if (!ok)
    throw new InvalidSignatureError(`${domain} signature does not verify for ${peerId.toString()}`);
  let json: unknown;
  try {
    json = JSON.parse(fromUtf8(payload));
  } catch {
    throw new InvalidMessageError(`${domain} payload is not JSON`);
  }
  const record = schema.safeParse(json);
  if (!record.success) throw new InvalidMessageError(`${domain} payload does not match its schema`);
  if (record.data.peerId !== peerId.toString()) {
    throw new PeerIdMismatchError(
      `${domain} names ${record.data.peerId}, expected ${peerId.toString()}`,
    );
  }
  return record.data;
}

function checkWindow(what: string, notBefore: number, notAfter: number, now: number): void {
  if (notAfter <= notBefore) throw new RecordExpiredError(`${what} has an empty validity window`);
  if (now + RECORD_CLOCK_TOLERANCE_MS < notBefore)
    throw new RecordExpiredError(`${what} is not valid yet`);
  if (now - RECORD_CLOCK_TOLERANCE_MS > notAfter)
    throw new RecordExpiredError(`${what} has expired`);
}

export function signKeyRecord(key: PrivateKey, record: KeyRecord): Promise<SignedEnvelope> {
  return sign(KEY_RECORD_DOMAIN, KeyRecord.parse(record), key);
}

export function signModelCard(key: PrivateKey, card: ModelCard): Promise<SignedEnvelope> {
  return sign(MODEL_CARD_DOMAIN, ModelCard.parse(card), key);
}

/** A verified key record with its public key decoded. */
export interface VerifiedKeyRecord extends KeyRecord {
  publicKeyBytes: Uint8Array;
}

/**
 * Verifies a key record for `expected`: signature by that PeerId's key, the PeerId named
 * inside, the suite, and the validity window. Throws a named error for each failure.
 */
export async function verifyKeyRecord(
  envelope: unknown,
  expected: PeerId | string,
  now = Date.now(),
): Promise<VerifiedKeyRecord> {
  const record = await verify(KEY_RECORD_DOMAIN, KeyRecord, envelope, expected);
  checkWindow('key record', record.notBefore, record.notAfter, now);
  const publicKeyBytes = fromBase64Url(record.publicKey);
  if (publicKeyBytes.length !== 32)
    throw new InvalidMessageError('key record public key must be 32 bytes');
  return { ...record, publicKeyBytes };
}

/** Verifies a model card for `expected` (signature, PeerId, freshness). */
export async function verifyModelCard(
  envelope: unknown,
  expected: PeerId | string,
  now = Date.now(),
): Promise<ModelCard> {
  const card = await verify(MODEL_CARD_DOMAIN, ModelCard, envelope, expected);
  checkWindow('model card', card.issuedAt, card.expiresAt, now);
  return card;
}

/**
 * Picks the key to seal to from a node's records: the newest valid one. Records that
 * fail verification are skipped; if none verifies, the first error is thrown.
 */
export async function selectKeyRecord(
  envelopes: readonly unknown[],
  expected: PeerId | string,
  now = Date.now(),
): Promise<VerifiedKeyRecord> {
  let best: VerifiedKeyRecord | undefined;
  let firstError: unknown;
  for (const envelope of envelopes) {
    try {
      const record = await verifyKeyRecord(envelope, expected, now);
      if (best == null || record.notBefore > best.notBefore) best = record;
    } catch (err) {
      firstError ??= err;
    }
  }
  if (best == null) throw firstError ?? new InvalidMessageError('node sent no key records');
  return best;
}
