// RFC 9180 Appendix A.1.1 known-answer tests, through the exact suite objects token.place
// uses on this platform (Node: noble HKDF + OpenSSL AES-GCM around @hpke/core; Chromium:
// @hpke/core on WebCrypto), with both the WebCrypto and the JS X25519. Runs in both.
import { describe, expect, it } from 'vitest';
import { chunkNonce, createCipherSuite } from '../../protocol/hpke.js';
import { fromHex, toHex } from '../../protocol/bytes.js';

interface Vector {
  name: string;
  ikmE: string;
  pkEm: string;
  skEm: string;
  ikmR: string;
  pkRm: string;
  skRm: string;
  baseNonce: string;
  encryptions: Array<[seq: number, aad: string, nonce: string, ct: string]>;
  exports: Array<[context: string, value: string]>;
}

const INFO = '4f6465206f6e2061204772656369616e2055726e'; // "Ode on a Grecian Urn"
const PT = '4265617574792069732074727574682c20747275746820626561757479'; // "Beauty is truth, truth beauty"

const VECTORS: Vector[] = [
  {
    name: 'A.1.1 DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM (the token.place suite)',
    ikmE: '7268600d403fce431561aef583ee1613527cff655c1343f29812e66706df3234',
    pkEm: '37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431',
    skEm: '52c4a758a802cd8b936eceea314432798d5baf2d7e9235dc084ab1b9cfa2f736',
    ikmR: '6db9df30aa07dd42ee5e8181afdb977e538f5e1fec8a06223f33f7013e525037',
    pkRm: '3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d',
    skRm: '4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8',
    baseNonce: '56d890e5accaaf011cff4b7d',
    encryptions: [
      [
        0,
        '436f756e742d30',
        '56d890e5accaaf011cff4b7d',
        'f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a96d8770ac83d07bea87e13c512a',
      ],
      [
        1,
        '436f756e742d31',
        '56d890e5accaaf011cff4b7c',
        'af2d7e9ac9ae7e270f46ba1f975be53c09f8d875bdc8535458c2494e8a6eab251c03d0c22a56b8ca42c2063b84',
      ],
      [
        2,
        '436f756e742d32',
        '56d890e5accaaf011cff4b7f',
        '498dfcabd92e8acedc281e85af1cb4e3e31c7dc394a1ca20e173cb72516491588d96a19ad4a683518973dcc180',
      ],
      [
        4,
        '436f756e742d34',
        '56d890e5accaaf011cff4b79',
        '583bd32bc67a5994bb8ceaca813d369bca7b2a42408cddef5e22f880b631215a09fc0012bc69fccaa251c0246d',
      ],
      [
        255,
        '436f756e742d323535',
        '56d890e5accaaf011cff4b82',
        '7175db9717964058640a3a11fb9007941a5d1757fda1a6935c805c21af32505bf106deefec4a49ac38d71c9e0a',
      ],
      [
        256,
        '436f756e742d323536',
        '56d890e5accaaf011cff4a7d',
        '957f9800542b0b8891badb026d79cc54597cb2d225b54c00c5238c25d05c30e3fbeda97d2e0e1aba483a2df9f2',
      ],
    ],
    exports: [
      ['', '3853fe2b4035195a573ffc53856e77058e15d9ea064de3e59f4961d0095250ee'],
      ['00', '2e8f0b54673c7029649d4eb9d5e33bf1872cf76d623ff164ac185da9e88c21a5'],
      [
        '54657374436f6e74657874',
        'e9e43065102c3836401bed8c3c3c75ae46be1639869391d62c61f1ec7af54931',
      ],
    ],
  },
];

const runtime =
  typeof (globalThis as { window?: unknown }).window === 'undefined' ? 'node' : 'chromium';

for (const v of VECTORS) {
  for (const kem of ['native', 'js'] as const) {
    describe(`RFC 9180 ${v.name}, ${kem} X25519 (${runtime})`, () => {
      const suite = createCipherSuite(kem);

      it('DeriveKeyPair reproduces the ephemeral and recipient key pairs', async () => {
        const e = await suite.kem.deriveKeyPair(fromHex(v.ikmE).buffer as ArrayBuffer);
        const r = await suite.kem.deriveKeyPair(fromHex(v.ikmR).buffer as ArrayBuffer);
        expect(toHex(new Uint8Array(await suite.kem.serializePublicKey(e.publicKey)))).toBe(v.pkEm);
        expect(toHex(new Uint8Array(await suite.kem.serializePrivateKey(e.privateKey)))).toBe(
          v.skEm,
        );
        expect(toHex(new Uint8Array(await suite.kem.serializePublicKey(r.publicKey)))).toBe(v.pkRm);
        expect(toHex(new Uint8Array(await suite.kem.serializePrivateKey(r.privateKey)))).toBe(
          v.skRm,
        );
      });

      it('seal produces enc and every listed ciphertext; the recipient opens them; exports match', async () => {
        const r = await suite.kem.deriveKeyPair(fromHex(v.ikmR).buffer as ArrayBuffer);
        const info = fromHex(INFO);
        const sender = await suite.createSenderContext({
          recipientPublicKey: r.publicKey,
          info,
          ekm: fromHex(v.ikmE).buffer as ArrayBuffer, // RFC test hook: fixed ephemeral key
        });
        expect(toHex(new Uint8Array(sender.enc))).toBe(v.pkEm);
        const recipient = await suite.createRecipientContext({
          recipientKey: r,
          enc: sender.enc,
          info,
        });
        const wanted = new Map(v.encryptions.map(([seq, aad, , ct]) => [seq, { aad, ct }]));
        const last = Math.max(...wanted.keys());
        for (let seq = 0; seq <= last; seq++) {
          // Sequence numbers advance with every seal; the RFC lists a sample of them.
          const w = wanted.get(seq);
          const aad = fromHex(w?.aad ?? '');
          const ct = new Uint8Array(await sender.seal(fromHex(PT), aad));
          const pt = new Uint8Array(await recipient.open(ct, aad));
          expect(toHex(pt)).toBe(PT);
          if (w != null) expect(toHex(ct)).toBe(w.ct);
        }
        for (const [context, value] of v.exports) {
          expect(toHex(new Uint8Array(await sender.export(fromHex(context), 32)))).toBe(value);
          expect(toHex(new Uint8Array(await recipient.export(fromHex(context), 32)))).toBe(value);
        }
      });
    });
  }
}

describe(`chunk nonces (${runtime})`, () => {
  it('base_nonce XOR counter reproduces the RFC 9180 per-sequence nonces', () => {
    for (const v of VECTORS) {
      for (const [seq, , nonce] of v.encryptions) {
        expect(toHex(chunkNonce(fromHex(v.baseNonce), seq))).toBe(nonce);
      }
    }
    expect(toHex(chunkNonce(fromHex('000000000000000000000000'), 0x01020304))).toBe(
      '000000000000000001020304',
    );
  });
});
