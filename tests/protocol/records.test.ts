// Signed key records and model cards: what a client accepts, and every forgery it refuses.
import { describe, expect, it } from 'vitest';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import {
  selectKeyRecord,
  signKeyRecord,
  signModelCard,
  verifyKeyRecord,
  verifyModelCard,
} from '../../protocol/records.js';
import { fromBase64Url, toBase64Url, utf8 } from '../../protocol/bytes.js';
import { generateHpkeKeyPair, HPKE_SUITE } from '../../protocol/hpke.js';
import type { KeyRecord, ModelCard, SignedEnvelope } from '../../protocol/messages.js';

const NOW = 1_760_000_000_000;
const HOUR = 3_600_000;

async function identity() {
  const key = await generateKeyPair('Ed25519');
  return { key, peerId: peerIdFromPrivateKey(key) };
}

async function keyRecord(peerId: string, overrides: Partial<KeyRecord> = {}): Promise<KeyRecord> {
  const hpke = await generateHpkeKeyPair();
  return {
    type: 'key-record',
    v: 1,
    peerId,
    keyId: hpke.keyId,
    suite: { ...HPKE_SUITE },
    publicKey: toBase64Url(hpke.publicKey),
    notBefore: NOW - HOUR,
    notAfter: NOW + 24 * HOUR,
    ...overrides,
  };
}

function modelCard(peerId: string): ModelCard {
  return {
    type: 'model-card',
    v: 1,
    peerId,
    model: {
      id: 'demo',
      family: 'llama',
      parameters: 407_000,
      quantization: 'F32',
      contextLength: 512,
      ggufSha256: 'a'.repeat(64),
    },
    load: { active: 0, queued: 0, maxConcurrency: 2 },
    hardware: {
      platform: 'linux',
      arch: 'x64',
      cpus: 2,
      cpuModel: 'test',
      memoryBytes: 1,
      backend: 'cpu',
      gpu: null,
    },
    issuedAt: NOW - 1000,
    expiresAt: NOW + 10 * 60_000,
  };
}

function tamper(
  envelope: SignedEnvelope,
  edit: (json: Record<string, unknown>) => void,
): SignedEnvelope {
  const json = JSON.parse(new TextDecoder().decode(fromBase64Url(envelope.payload))) as Record<
    string,
    unknown
  >;
  edit(json);
  return { ...envelope, payload: toBase64Url(utf8(JSON.stringify(json))) };
}

describe('key records', () => {
  it('verifies for the signing PeerId and returns the public key', async () => {
    const { key, peerId } = await identity();
    const record = await keyRecord(peerId.toString());
    const verified = await verifyKeyRecord(await signKeyRecord(key, record), peerId, NOW);
    expect(verified.keyId).toBe(record.keyId);
    expect(toBase64Url(verified.publicKeyBytes)).toBe(record.publicKey);
  });

  it('refuses a record checked against a different PeerId', async () => {
    const a = await identity();
    const b = await identity();
    const envelope = await signKeyRecord(a.key, await keyRecord(a.peerId.toString()));
    await expect(verifyKeyRecord(envelope, b.peerId, NOW)).rejects.toThrow(
      /InvalidSignature|does not verify/,
    );
  });

  it('refuses a record that names another peer even when that peer signed it', async () => {
    const a = await identity();
    const b = await identity();
    const envelope = await signKeyRecord(a.key, await keyRecord(b.peerId.toString()));
    await expect(verifyKeyRecord(envelope, a.peerId, NOW)).rejects.toMatchObject({
      name: 'PeerIdMismatchError',
    });
  });

  it('refuses a swapped public key (a relay substituting its own key)', async () => {
    const { key, peerId } = await identity();
    const envelope = await signKeyRecord(key, await keyRecord(peerId.toString()));
    const attacker = await generateHpkeKeyPair();
    const swapped = tamper(envelope, (j) => {
      j.publicKey = toBase64Url(attacker.publicKey);
      j.keyId = attacker.keyId;
    });
    await expect(verifyKeyRecord(swapped, peerId, NOW)).rejects.toMatchObject({
      name: 'InvalidSignatureError',
    });
  });

  it('refuses every flipped byte of payload and signature', async () => {
    const { key, peerId } = await identity();
    const envelope = await signKeyRecord(key, await keyRecord(peerId.toString()));
    const payload = fromBase64Url(envelope.payload);
    const sig = fromBase64Url(envelope.sig);
    for (let i = 0; i < payload.length; i += 7) {
      const p = payload.slice();
      p[i]! ^= 1;
      await expect(
        verifyKeyRecord({ ...envelope, payload: toBase64Url(p) }, peerId, NOW),
      ).rejects.toThrow();
    }
    for (let i = 0; i < sig.length; i++) {
      const s = sig.slice();
      s[i]! ^= 1;
      await expect(
        verifyKeyRecord({ ...envelope, sig: toBase64Url(s) }, peerId, NOW),
      ).rejects.toMatchObject({
        name: 'InvalidSignatureError',
      });
    }
  });

  it('refuses expired and not-yet-valid records', async () => {
    const { key, peerId } = await identity();
    const expired = await signKeyRecord(
      key,
      await keyRecord(peerId.toString(), { notBefore: NOW - 48 * HOUR, notAfter: NOW - HOUR }),
    );
    const future = await signKeyRecord(
      key,
      await keyRecord(peerId.toString(), { notBefore: NOW + HOUR, notAfter: NOW + 2 * HOUR }),
    );
    await expect(verifyKeyRecord(expired, peerId, NOW)).rejects.toMatchObject({
      name: 'RecordExpiredError',
    });
    await expect(verifyKeyRecord(future, peerId, NOW)).rejects.toMatchObject({
      name: 'RecordExpiredError',
    });
  });

  it('keeps domains apart: a signed model card never passes as a key record', async () => {
    const { key, peerId } = await identity();
    const card = await signModelCard(key, modelCard(peerId.toString()));
    await expect(verifyKeyRecord(card, peerId, NOW)).rejects.toMatchObject({
      name: 'InvalidSignatureError',
    });
  });

  it('selects the newest valid record and skips forged ones', async () => {
    const { key, peerId } = await identity();
    const other = await identity();
    const older = await keyRecord(peerId.toString(), { notBefore: NOW - 20 * HOUR });
    const newer = await keyRecord(peerId.toString(), { notBefore: NOW - HOUR });
    const forged = await signKeyRecord(
      other.key,
      await keyRecord(peerId.toString(), { notBefore: NOW }),
    );
    const chosen = await selectKeyRecord(
      [await signKeyRecord(key, older), forged, await signKeyRecord(key, newer)],
      peerId,
      NOW,
    );
    expect(chosen.keyId).toBe(newer.keyId);
    await expect(selectKeyRecord([forged], peerId, NOW)).rejects.toMatchObject({
      name: 'InvalidSignatureError',
    });
  });
});

describe('model cards', () => {
  it('verify for their node, and refuse a changed load, model or hardware', async () => {
    const { key, peerId } = await identity();
    const envelope = await signModelCard(key, modelCard(peerId.toString()));
    expect((await verifyModelCard(envelope, peerId, NOW)).model.id).toBe('demo');
    const lighter = tamper(envelope, (j) => {
      (j.load as Record<string, number>).active = 0;
      (j.load as Record<string, number>).maxConcurrency = 64;
    });
    await expect(verifyModelCard(lighter, peerId, NOW)).rejects.toMatchObject({
      name: 'InvalidSignatureError',
    });
  });

  it('are refused when stale', async () => {
    const { key, peerId } = await identity();
    const envelope = await signModelCard(key, modelCard(peerId.toString()));
    await expect(verifyModelCard(envelope, peerId, NOW + HOUR)).rejects.toMatchObject({
      name: 'RecordExpiredError',
    });
  });

  it('refuse a card signed by a directory on behalf of another node', async () => {
    const node = await identity();
    const directory = await identity();
    const forged = await signModelCard(directory.key, modelCard(node.peerId.toString()));
    await expect(verifyModelCard(forged, node.peerId, NOW)).rejects.toMatchObject({
      name: 'InvalidSignatureError',
    });
  });
});
