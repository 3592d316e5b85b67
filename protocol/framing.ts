/**
 * Framing: every token.place message is one unsigned-varint length-prefixed frame of
 * UTF-8 JSON, on libp2p streams (through `lpStream` from `@libp2p/utils`) and in HTTP
 * bodies alike. Readers enforce a size limit per protocol, honour `AbortSignal`, and
 * validate each frame against its schema before anyone looks at it.
 */
import { LengthPrefixedDecoder } from '@libp2p/utils';
import type { LengthPrefixedStream } from '@libp2p/utils';
import type { AbortOptions } from '@libp2p/interface';
import type { Uint8ArrayList } from 'uint8arraylist';
import * as varint from 'uint8-varint';
import type { z } from 'zod/mini';
import { concat, fromUtf8, utf8 } from './bytes.js';
import { MAX_FRAME_BYTES } from './constants.js';
import { FrameTooLargeError, InvalidMessageError, UnexpectedEndError } from './errors.js';

/** JSON bytes of a message (no length prefix). */
export function encodeMessage(message: unknown): Uint8Array {
  return utf8(JSON.stringify(message));
}

/** One length-prefixed frame: varint(length) || JSON bytes. */
export function encodeFrame(message: unknown): Uint8Array {
  const body = encodeMessage(message);
  return concat(varint.encode(body.length), body);
}

/** Parses and validates one frame body. Throws `InvalidMessageError`, never anything else. */
export function decodeMessage<T>(bytes: Uint8Array | Uint8ArrayList, schema: z.ZodMiniType<T>): T {
  const flat = bytes instanceof Uint8Array ? bytes : bytes.subarray();
  let json: unknown;
  try {
    json = JSON.parse(fromUtf8(flat));
  } catch (err) {
    if (err instanceof InvalidMessageError) throw err;
    throw new InvalidMessageError('frame is not JSON');
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? ` at ${issue.path.join('.')}` : '';
    throw new InvalidMessageError(`unexpected message${where}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

/** Translates `lpStream` errors into the protocol's named errors; others pass through. */
function translateReadError(err: unknown): unknown {
  const name = (err as { name?: string } | null)?.name;
  if (name === 'InvalidDataLengthError' || name === 'InvalidDataLengthLengthError') {
    return new FrameTooLargeError();
  }
  if (name === 'InvalidMessageLengthError') return new InvalidMessageError('invalid frame length');
  if (name === 'UnexpectedEOFError') return new UnexpectedEndError();
  return err;
}

/** Writes one message on a length-prefixed libp2p stream (waits for drain). */
export async function writeMessage(
  lp: LengthPrefixedStream,
  message: unknown,
  options?: AbortOptions,
): Promise<void> {
  await lp.write(encodeMessage(message), options);
}

/**
 * Reads and validates the next message. The `lpStream` must have been created with the
 * protocol's `maxDataLength`; a frame over it fails with `FrameTooLargeError`.
 */
export async function readMessage<T>(
  lp: LengthPrefixedStream,
  schema: z.ZodMiniType<T>,
  options?: AbortOptions,
): Promise<T> {
  let frame: Uint8ArrayList;
  try {
    frame = await lp.read(options);
  } catch (err) {
    throw translateReadError(err);
  }
  return decodeMessage(frame, schema);
}

/**
 * Splits a byte stream (an HTTP body) into frames, with the same limits as a libp2p
 * stream. Push chunks as they arrive; `end()` throws if a frame was cut off.
 */
export class FrameDecoder {
  readonly #decoder: LengthPrefixedDecoder;
  #buffered = 0;

  constructor(maxFrameBytes = MAX_FRAME_BYTES) {
    this.#decoder = new LengthPrefixedDecoder({
      maxDataLength: maxFrameBytes,
      maxBufferSize: maxFrameBytes + 16,
    });
  }

  /** Returns every complete frame body in `chunk` (plus what was buffered before). */
  push(chunk: Uint8Array): Uint8Array[] {
    const frames: Uint8Array[] = [];
    try {
      for (const frame of this.#decoder.decode(chunk)) {
        frames.push(frame.subarray());
      }
    } catch (err) {
      const name = (err as { name?: string }).name;
      if (name === 'InvalidMessageLengthError' || name === 'InvalidParametersError') {
        throw new FrameTooLargeError();
      }
      throw new InvalidMessageError('invalid frame');
    }
    const consumed = frames.reduce((n, f) => n + f.length + varint.encodingLength(f.length), 0);
    this.#buffered += chunk.length - consumed;
    return frames;
  }

  /** Throws `UnexpectedEndError` if bytes of an unfinished frame remain. */
  end(): void {
    if (this.#buffered !== 0) throw new UnexpectedEndError('body ended inside a frame');
  }
}

/** Reads every frame of a web `ReadableStream` body, validating each with `schema`. */
export async function* readFrames<T>(
  body: ReadableStream<Uint8Array>,
  schema: z.ZodMiniType<T>,
  options: AbortOptions & { maxFrameBytes?: number } = {},
): AsyncGenerator<T> {
  const decoder = new FrameDecoder(options.maxFrameBytes);
  const reader = body.getReader();
  const onAbort = (): void => {
    reader.cancel(options.signal?.reason).catch(() => {});
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    while (true) {
      options.signal?.throwIfAborted();
      const { done, value } = await reader.read();
      if (done) break;
      for (const frame of decoder.push(value)) yield decodeMessage(frame, schema);
    }
    options.signal?.throwIfAborted();
    decoder.end();
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    reader.releaseLock();
  }
}
