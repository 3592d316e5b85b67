// Request sealing and chunked responses: round trips, and every way a relay could
// tamper with them (flipped bytes, dropped, reordered, replayed, cut-off chunks).
import { describe, expect, it } from 'vitest';
import {
  generateHpkeKeyPair,
  openWithKey,
  requestInfo,
  ResponseOpener,
  ResponseSealer,
  sealToKey,
} from '../../protocol/hpke.js';
import { fromUtf8, utf8 } from '../../protocol/bytes.js';
import { DecryptionError, TruncatedResponseError } from '../../protocol/errors.js';

const PEER = '12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN';

function flip(bytes: Uint8Array, index: number): Uint8Array {
  const out = bytes.slice();
  out[index]! ^= 0x01;
  return out;
}

async function session(chunks: string[]) {
  const key = await generateHpkeKeyPair();
  const info = requestInfo(PEER, key.keyId);
  const sealed = await sealToKey(key.publicKey, info, utf8('{"hello":"node"}'));
  const opened = await openWithKey(key.keyPair, sealed.enc, info, sealed.ct);
  const sealer = ResponseSealer.create(opened.secret, sealed.enc);
  const cts: Uint8Array[] = [];
  for (let i = 0; i < chunks.length; i++)
    cts.push(await sealer.seal(utf8(chunks[i]!), i === chunks.length - 1));
  const opener = (): ResponseOpener => {
    const o = new ResponseOpener(sealed.secret, sealed.enc);
    o.begin(sealer.nonce);
    return o;
  };
  return { key, info, sealed, opened, sealer, cts, opener };
}

describe('HPKE request sealing', () => {
  it('round-trips and derives the same response secret on both sides', async () => {
    const { sealed, opened } = await session(['x']);
    expect(fromUtf8(opened.plaintext)).toBe('{"hello":"node"}');
    expect(opened.secret).toEqual(sealed.secret);
  });

  it('uses a fresh encapsulation for every request', async () => {
    const key = await generateHpkeKeyPair();
    const info = requestInfo(PEER, key.keyId);
    const a = await sealToKey(key.publicKey, info, utf8('same'));
    const b = await sealToKey(key.publicKey, info, utf8('same'));
    expect(a.enc).not.toEqual(b.enc);
    expect(a.ct).not.toEqual(b.ct);
  });

  it('rejects every single flipped byte of enc and ciphertext with DecryptionError', async () => {
    const { key, info, sealed } = await session(['x']);
    for (let i = 0; i < sealed.enc.length; i++) {
      await expect(openWithKey(key.keyPair, flip(sealed.enc, i), info, sealed.ct)).rejects.toThrow(
        DecryptionError,
      );
    }
    for (let i = 0; i < sealed.ct.length; i++) {
      await expect(openWithKey(key.keyPair, sealed.enc, info, flip(sealed.ct, i))).rejects.toThrow(
        DecryptionError,
      );
    }
  });

  it('binds the PeerId and key id: a request sealed for another node or key does not open', async () => {
    const { key, sealed } = await session(['x']);
    const otherPeer = requestInfo(
      '12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK',
      key.keyId,
    );
    const otherKey = requestInfo(PEER, '0000000000000000');
    await expect(openWithKey(key.keyPair, sealed.enc, otherPeer, sealed.ct)).rejects.toThrow(
      DecryptionError,
    );
    await expect(openWithKey(key.keyPair, sealed.enc, otherKey, sealed.ct)).rejects.toThrow(
      DecryptionError,
    );
  });

  it('does not open with another node key', async () => {
    const { info, sealed } = await session(['x']);
    const other = await generateHpkeKeyPair();
    await expect(openWithKey(other.keyPair, sealed.enc, info, sealed.ct)).rejects.toThrow(
      DecryptionError,
    );
  });
});

describe('chunked responses', () => {
  it('round-trips in order and requires the final chunk', async () => {
    const chunks = ['Hello', '!', ' I', ' am', ' done'];
    const { cts, opener } = await session(chunks);
    const o = opener();
    const out: string[] = [];
    for (let i = 0; i < cts.length; i++)
      out.push(fromUtf8(await o.open(cts[i]!, i === cts.length - 1)));
    expect(out).toEqual(chunks);
    expect(() => o.end()).not.toThrow();
  });

  it('rejects every single flipped byte of every chunk', async () => {
    const { cts, opener } = await session(['first chunk', 'second chunk', 'last']);
    for (let c = 0; c < cts.length; c++) {
      for (let i = 0; i < cts[c]!.length; i++) {
        const o = opener();
        for (let k = 0; k < c; k++) await o.open(cts[k]!, false);
        await expect(o.open(flip(cts[c]!, i), c === cts.length - 1)).rejects.toThrow(
          DecryptionError,
        );
        expect(() => o.end()).toThrow(TruncatedResponseError);
      }
    }
  });

  it('detects a dropped final chunk (truncation)', async () => {
    const { cts, opener } = await session(['a', 'b', 'c']);
    const o = opener();
    await o.open(cts[0]!, false);
    await o.open(cts[1]!, false);
    expect(() => o.end()).toThrow(TruncatedResponseError);
  });

  it('detects a dropped middle chunk, reordered chunks and a replayed chunk', async () => {
    const { cts, opener } = await session(['a', 'b', 'c', 'd']);
    const dropped = opener();
    await dropped.open(cts[0]!, false);
    await expect(dropped.open(cts[2]!, false)).rejects.toThrow(DecryptionError);

    const reordered = opener();
    await expect(reordered.open(cts[1]!, false)).rejects.toThrow(DecryptionError);

    const replayed = opener();
    await replayed.open(cts[0]!, false);
    await expect(replayed.open(cts[0]!, false)).rejects.toThrow(DecryptionError);
  });

  it('detects a forged final flag in either direction', async () => {
    const { cts, opener } = await session(['a', 'b']);
    const early = opener();
    await expect(early.open(cts[0]!, true)).rejects.toThrow(DecryptionError);
    expect(() => early.end()).toThrow(TruncatedResponseError);
    const o = opener();
    await o.open(cts[0]!, false);
    await expect(o.open(cts[1]!, false)).rejects.toThrow(DecryptionError);
  });

  it('refuses chunks after the final one, and after a failure', async () => {
    const { cts, opener, sealer } = await session(['a', 'b']);
    const o = opener();
    await o.open(cts[0]!, false);
    await o.open(cts[1]!, true);
    await expect(o.open(cts[1]!, false)).rejects.toThrow(DecryptionError);
    expect(() => sealer.seal(utf8('more'), false)).toThrow();

    const poisoned = opener();
    await expect(poisoned.open(flip(cts[0]!, 0), false)).rejects.toThrow(DecryptionError);
    await expect(poisoned.open(cts[0]!, false)).rejects.toThrow(DecryptionError);
  });

  it('a different response nonce (a swapped response) does not open', async () => {
    const { sealed, cts } = await session(['a']);
    const o = new ResponseOpener(sealed.secret, sealed.enc);
    o.begin(new Uint8Array(16));
    await expect(o.open(cts[0]!, true)).rejects.toThrow(DecryptionError);
  });
});
