// base64url as the wire uses it (RFC 4648 §5, unpadded, strict): the platform's codec (in
// Node Buffer's, in Chromium the built-in Uint8Array.fromBase64/toBase64) and the
// JavaScript fallback for older browsers, in both runtimes: the same vectors and refusals.
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { fromBase64Url, toBase64Url, utf8 } from '../../protocol/bytes.js';
import { fromBase64UrlJs, toBase64UrlJs } from '../../protocol/base64.browser.js';
import { InvalidMessageError } from '../../protocol/errors.js';

const CODECS = [
  { name: 'platform', toBase64Url, fromBase64Url },
  { name: 'JavaScript fallback', toBase64Url: toBase64UrlJs, fromBase64Url: fromBase64UrlJs },
];

// RFC 4648 §10, in the URL-safe alphabet without padding.
const VECTORS: Array<[string, string]> = [
  ['', ''],
  ['f', 'Zg'],
  ['fo', 'Zm8'],
  ['foo', 'Zm9v'],
  ['foob', 'Zm9vYg'],
  ['fooba', 'Zm9vYmE'],
  ['foobar', 'Zm9vYmFy'],
];

describe.each(CODECS)('base64url: $name codec', ({ toBase64Url, fromBase64Url }) => {
  test.each(VECTORS)('%j ↔ %j', (plain, encoded) => {
    expect(toBase64Url(utf8(plain))).toBe(encoded);
    expect(fromBase64Url(encoded)).toEqual(utf8(plain));
  });

  test('uses - and _ where standard base64 has + and /', () => {
    expect(toBase64Url(new Uint8Array([0xfb, 0xff, 0xbf]))).toBe('-_-_');
    expect(fromBase64Url('-_-_')).toEqual(new Uint8Array([0xfb, 0xff, 0xbf]));
  });

  test('encodes a view of a larger buffer by its own bytes only', () => {
    const whole = new Uint8Array([1, 2, 3, 4, 5, 6]);
    expect(toBase64Url(whole.subarray(2, 5))).toBe(toBase64Url(new Uint8Array([3, 4, 5])));
  });

  test.each([
    ['padding', 'Zg=='],
    ['standard alphabet +', 'Zm9v+w'],
    ['standard alphabet /', 'Zm9v/w'],
    ['whitespace', 'Zm9v Zm9v'],
    ['a newline', 'Zm9v\nZm9v'],
    ['impossible length', 'Zm9vY'],
    ['non-canonical trailing bits', 'Zh'],
    ['non-canonical trailing bits (3 chars)', 'Zm9'],
    ['non-ASCII', 'Zm9vé'],
  ])('refuses %s', (_, text) => {
    expect(() => fromBase64Url(text)).toThrow(InvalidMessageError);
  });

  test('round-trips any bytes; every decoded array is its own copy', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const text = toBase64Url(bytes);
        expect(text).toMatch(/^[A-Za-z0-9_-]*$/);
        const back = fromBase64Url(text);
        expect(back).toEqual(bytes);
        expect(back.byteLength).toBe(back.buffer.byteLength);
      }),
      { numRuns: 300 },
    );
  });
});
