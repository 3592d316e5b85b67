// RFC 9180 Appendix A known-answer tests, through the exact suite objects token.place
// uses (noble HKDF and ChaCha20-Poly1305 adapters around @hpke/core), with both the
// WebCrypto and the JS X25519 KEM. Runs in Node and in Chromium.
import { describe, expect, it } from 'vitest';
import { createCipherSuite } from '../../protocol/hpke.js';
import { fromHex, toHex } from '../../protocol/bytes.js';

interface Vector {
  name: string;
  aead: 'aes128gcm' | 'chacha20poly1305';
  ikmE: string;
  pkEm: string;
  skEm: string;
  ikmR: string;
  pkRm: string;
  skRm: string;
  encryptions: Array<[seq: number, aad: string, ct: string]>;
  exports: Array<[context: string, value: string]>;
}

const INFO = '4f6465206f6e2061204772656369616e2055726e'; // "Ode on a Grecian Urn"
const PT = '4265617574792069732074727574682c20747275746820626561757479'; // "Beauty is truth, truth beauty"

const VECTORS: Vector[] = [
  {
    name: 'A.1.1 DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM',
    aead: 'aes128gcm',
    ikmE: '7268600d403fce431561aef583ee1613527cff655c1343f29812e66706df3234',
    pkEm: '37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431',
    skEm: '52c4a758a802cd8b936eceea314432798d5baf2d7e9235dc084ab1b9cfa2f736',
    ikmR: '6db9df30aa07dd42ee5e8181afdb977e538f5e1fec8a06223f33f7013e525037',
    pkRm: '3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d',
    skRm: '4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8',
    encryptions: [
      [
        0,
        '436f756e742d30',
        'f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a96d8770ac83d07bea87e13c512a',
      ],
      [
        1,
        '436f756e742d31',
        'af2d7e9ac9ae7e270f46ba1f975be53c09f8d875bdc8535458c2494e8a6eab251c03d0c22a56b8ca42c2063b84',
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
  {
    name: 'A.2.1 DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20Poly1305 (token.place suite)',
    aead: 'chacha20poly1305',
    ikmE: '909a9b35d3dc4713a5e72a4da274b55d3d3821a37e5d099e74a647db583a904b',
    pkEm: '1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a',
    skEm: 'f4ec9b33b792c372c1d2c2063507b684ef925b8c75a42dbcbf57d63ccd381600',
    ikmR: '1ac01f181fdf9f352797655161c58b75c656a6cc2716dcb66372da835542e1df',
    pkRm: '4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a',
    skRm: '8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e0fb',
    encryptions: [
      [
        0,
        '436f756e742d30',
        '1c5250d8034ec2b784ba2cfd69dbdb8af406cfe3ff938e131f0def8c8b60b4db21993c62ce81883d2dd1b51a28',
      ],
      [
        1,
        '436f756e742d31',
        '6b53c051e4199c518de79594e1c4ab18b96f081549d45ce015be002090bb119e85285337cc95ba5f59992dc98c',
      ],
      [
        2,
        '436f756e742d32',
        '71146bd6795ccc9c49ce25dda112a48f202ad220559502cef1f34271e0cb4b02b4f10ecac6f48c32f878fae86b',
      ],
      [
        4,
        '436f756e742d34',
        '63357a2aa291f5a4e5f27db6baa2af8cf77427c7c1a909e0b37214dd47db122bb153495ff0b02e9e54a50dbe16',
      ],
      [
        255,
        '436f756e742d323535',
        '18ab939d63ddec9f6ac2b60d61d36a7375d2070c9b683861110757062c52b8880a5f6b3936da9cd6c23ef2a95c',
      ],
      [
        256,
        '436f756e742d323536',
        '7a4a13e9ef23978e2c520fd4d2e757514ae160cd0cd05e556ef692370ca53076214c0c40d4c728d6ed9e727a5b',
      ],
    ],
    exports: [
      ['', '4bbd6243b8bb54cec311fac9df81841b6fd61f56538a775e7c80a9f40160606e'],
      ['00', '8c1df14732580e5501b00f82b10a1647b40713191b7c1240ac80e2b68808ba69'],
      [
        '54657374436f6e74657874',
        '5acb09211139c43b3090489a9da433e8a30ee7188ba8b0a9a1ccf0c229283e53',
      ],
    ],
  },
];

const runtime =
  typeof (globalThis as { window?: unknown }).window === 'undefined' ? 'node' : 'chromium';

for (const v of VECTORS) {
  for (const kem of ['webcrypto', 'js'] as const) {
    describe(`RFC 9180 ${v.name}, ${kem} X25519 (${runtime})`, () => {
      const suite = createCipherSuite({ kem, aead: v.aead });

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
        const wanted = new Map(v.encryptions.map(([seq, aad, ct]) => [seq, { aad, ct }]));
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
