// Property tests over the decoders: random, truncated and oversized input gives a clean,
// named error — never a crash, a different exception type, or a hang.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { z } from 'zod/mini';
import { streamPair, lpStream } from '@libp2p/utils';
import {
  decodeMessage,
  encodeFrame,
  FrameDecoder,
  readFrames,
  readMessage,
  writeMessage,
} from '../../protocol/framing.js';
import {
  ClientToNodeRequest,
  NodeToClientInferenceMessage,
  NodeToClientInfo,
  ResponseEvent,
  SealedRequestPlaintext,
} from '../../protocol/messages.js';
import { ProtocolError } from '../../protocol/errors.js';
import { utf8 } from '../../protocol/bytes.js';

const SCHEMAS: z.ZodMiniType<unknown>[] = [
  ClientToNodeRequest,
  NodeToClientInferenceMessage,
  NodeToClientInfo,
  SealedRequestPlaintext,
  ResponseEvent,
];

function expectProtocolError(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError);
    return;
  }
}

const sampleRequest = {
  type: 'request',
  keyId: '0123456789abcdef',
  enc: 'A'.repeat(43),
  ct: 'B'.repeat(64),
};

describe('decodeMessage', () => {
  it('random bytes give a ProtocolError or a valid message, nothing else', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 512 }),
        fc.integer({ min: 0, max: SCHEMAS.length - 1 }),
        (bytes, s) => {
          expectProtocolError(() => decodeMessage(bytes, SCHEMAS[s]!));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('random JSON values give a ProtocolError or a valid message', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.integer({ min: 0, max: SCHEMAS.length - 1 }), (value, s) => {
        expectProtocolError(() => decodeMessage(utf8(JSON.stringify(value)), SCHEMAS[s]!));
      }),
      { numRuns: 500 },
    );
  });

  it('every truncation of a valid message is refused', () => {
    const bytes = utf8(JSON.stringify(sampleRequest));
    expect(decodeMessage(bytes, ClientToNodeRequest)).toEqual(sampleRequest);
    for (let n = 0; n < bytes.length; n++) {
      expect(() => decodeMessage(bytes.subarray(0, n), ClientToNodeRequest)).toThrow(ProtocolError);
    }
  });

  it('refuses unknown fields and wrong types', () => {
    expect(() =>
      decodeMessage(utf8(JSON.stringify({ ...sampleRequest, extra: 1 })), ClientToNodeRequest),
    ).toThrow(/unexpected message/);
    expect(() =>
      decodeMessage(utf8(JSON.stringify({ ...sampleRequest, keyId: 7 })), ClientToNodeRequest),
    ).toThrow(/keyId/);
  });
});

describe('FrameDecoder', () => {
  it('reassembles frames however the bytes are split', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ n: fc.integer(), s: fc.string({ maxLength: 40 }) }), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 20 }),
        (messages, cuts) => {
          const bytes = Uint8Array.from(messages.flatMap((m) => [...encodeFrame(m)]));
          const decoder = new FrameDecoder();
          const out: unknown[] = [];
          let offset = 0;
          let i = 0;
          while (offset < bytes.length) {
            const size = cuts[i++ % cuts.length]!;
            for (const f of decoder.push(bytes.subarray(offset, offset + size)))
              out.push(JSON.parse(new TextDecoder().decode(f)));
            offset += size;
          }
          decoder.end();
          expect(out).toEqual(messages);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('random byte streams end in frames or a ProtocolError, never a crash', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 10 }), (chunks) => {
        const decoder = new FrameDecoder(256);
        try {
          for (const c of chunks) decoder.push(c);
          decoder.end();
        } catch (err) {
          expect(err).toBeInstanceOf(ProtocolError);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('refuses a frame longer than the limit before buffering it', () => {
    const decoder = new FrameDecoder(100);
    const big = encodeFrame({ s: 'x'.repeat(200) });
    expect(() => decoder.push(big.subarray(0, 4))).toThrow(
      expect.objectContaining({ name: 'FrameTooLargeError' }),
    );
  });

  it('notices a body that ends inside a frame', () => {
    const decoder = new FrameDecoder();
    const frame = encodeFrame({ a: 1 });
    decoder.push(frame.subarray(0, frame.length - 1));
    expect(() => decoder.end()).toThrow(expect.objectContaining({ name: 'UnexpectedEndError' }));
  });

  it('readFrames validates each frame of a ReadableStream and stops on abort', async () => {
    const frames = [
      { type: 'response-start', nonce: 'A'.repeat(22) },
      { type: 'chunk', final: true, ct: 'AAAA' },
    ];
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (const f of frames) c.enqueue(encodeFrame(f));
        c.close();
      },
    });
    const got = [];
    for await (const m of readFrames(body, NodeToClientInferenceMessage)) got.push(m);
    expect(got).toEqual(frames);

    const controller = new AbortController();
    const endless = new ReadableStream<Uint8Array>({ pull: () => new Promise(() => {}) });
    const reading = (async () => {
      for await (const _ of readFrames(endless, NodeToClientInferenceMessage, {
        signal: controller.signal,
      })) {
        // never
      }
    })();
    controller.abort(new Error('stop'));
    await expect(reading).rejects.toThrow('stop');
  });
});

describe('lpStream framing over an in-memory libp2p stream pair', () => {
  it('round-trips a message and enforces the size limit with a named error', async () => {
    const [a, b] = await streamPair();
    const writer = lpStream(a);
    const reader = lpStream(b, { maxDataLength: 256 });
    await writeMessage(writer, sampleRequest);
    await expect(readMessage(reader, ClientToNodeRequest)).resolves.toEqual(sampleRequest);
    await writeMessage(writer, { ...sampleRequest, ct: 'C'.repeat(1000) });
    await expect(readMessage(reader, ClientToNodeRequest)).rejects.toMatchObject({
      name: 'FrameTooLargeError',
    });
  });

  it('reports a stream that closes mid-protocol as UnexpectedEndError', async () => {
    const [a, b] = await streamPair();
    const reader = lpStream(b);
    const reading = readMessage(reader, ClientToNodeRequest);
    await a.close();
    await expect(reading).rejects.toMatchObject({ name: 'UnexpectedEndError' });
  });

  it('honours AbortSignal while waiting for a frame', async () => {
    const [, b] = await streamPair();
    const reader = lpStream(b);
    await expect(
      readMessage(reader, ClientToNodeRequest, { signal: AbortSignal.timeout(50) }),
    ).rejects.toThrow();
  });
});
