/**
 * The sealed request/response exchange of `/tokenplace/inference/1.0.0`, independent of
 * transport: the same messages travel on a libp2p stream and in an HTTP body.
 *
 * Protocol flow:
 * 1. client → node  `ClientToNodeRequest` {keyId, enc, ct}: HPKE seal of
 *    `SealedRequestPlaintext` {v, id, ts, endpoint, body} to the node's verified key.
 * 2. node → client  `NodeToClientError` if it cannot open the request (unknown key,
 *    decrypt failure, stale, replay, overload); nothing else follows.
 * 3. node → client  `NodeToClientResponseStart` {nonce}, then `NodeToClientChunk`s, each
 *    the seal of a JSON array of `ResponseEvent`s (those ready together); the chunk
 *    ending with `done`, `result` or `error` is final. The client stops reading after the final chunk; a stream that ends before
 *    it is a `TruncatedResponseError`.
 *
 * @example
 * ```ts
 * const { message, reader } = await sealInferenceRequest(nodeKey, { endpoint, body });
 * // send `message`, then for each received frame:
 * const events = await reader.accept(frame); // ResponseEvent[]
 * ```
 */
import { fromBase64Url, toBase64Url, utf8 } from './bytes.js';
import {
  MAX_CHUNK_PLAINTEXT_BYTES,
  MAX_REQUEST_PLAINTEXT_BYTES,
  REQUEST_ID_BYTES,
} from './constants.js';
import { randomBytes } from './crypto.js';
import {
  FrameTooLargeError,
  InvalidMessageError,
  ProtocolError,
  RemoteError,
  StaleRequestError,
  UnknownKeyError,
} from './errors.js';
import {
  openWithKey,
  prepareSeal,
  requestInfo,
  ResponseOpener,
  ResponseSealer,
  type PreparedSeal,
} from './hpke.js';
import {
  ResponseEvents,
  SealedRequestPlaintext,
  type ResponseEvent,
  type ClientToNodeRequest,
  type InferenceEndpoint,
  type NodeToClientError,
  type NodeToClientInferenceMessage,
} from './messages.js';
import { decodeMessage } from './framing.js';
import type { ReplayGuard } from './replay.js';
import { runLater } from './timers.js';

/** The verified key a client seals to (from `verifyKeyRecord`). */
export interface NodeKey {
  peerId: string;
  keyId: string;
  publicKeyBytes: Uint8Array;
}

export interface InferenceRequest {
  endpoint: InferenceEndpoint;
  body: Record<string, unknown>;
}

/** Seals kept ready per key. */
const MAX_PREPARED_KEYS = 64;
/** A used seal's successor is prepared this long after, out of the way of the answer. */
const PREPARE_DELAY_MS = 50;

/**
 * Request seals prepared ahead of time, one per node key: the costly part of sealing a
 * request (the X25519 key agreement and HPKE's key schedule, about a millisecond, more
 * on a busy event loop) happens in the background, so a request waits for one AEAD
 * call. Each prepared seal is used for exactly one request; the next one is prepared
 * once the answer's first token is out (runInferenceBatches warms it), or a moment after
 * it is taken.
 */
export class SealAhead {
  readonly #ready = new Map<string, Promise<PreparedSeal>>();

  /** Prepares a seal to `key` in the background, unless one is ready. */
  warm(key: NodeKey): void {
    const id = sealId(key);
    if (this.#ready.has(id)) return;
    const prepared = prepareSeal(key.publicKeyBytes, requestInfo(key.peerId, key.keyId));
    prepared.catch(() => this.#ready.delete(id));
    this.#ready.set(id, prepared);
    while (this.#ready.size > MAX_PREPARED_KEYS) {
      this.#ready.delete(this.#ready.keys().next().value!);
    }
  }

  /** A seal to `key`: the prepared one, else a fresh one. Its successor follows shortly. */
  take(key: NodeKey): Promise<PreparedSeal> {
    const id = sealId(key);
    const ready = this.#ready.get(id);
    this.#ready.delete(id);
    runLater(() => this.warm(key), PREPARE_DELAY_MS);
    return ready ?? prepareSeal(key.publicKeyBytes, requestInfo(key.peerId, key.keyId));
  }
}

function sealId(key: NodeKey): string {
  return `${key.peerId} ${key.keyId} ${toBase64Url(key.publicKeyBytes)}`;
}

/** Client side: seals `request` to `key` with a fresh encapsulation, id and timestamp. */
export async function sealInferenceRequest(
  key: NodeKey,
  request: InferenceRequest,
  options: { now?: number; seals?: SealAhead } = {},
): Promise<{ message: ClientToNodeRequest; reader: ResponseReader; requestId: string }> {
  const plaintext: SealedRequestPlaintext = {
    v: 1,
    id: toBase64Url(randomBytes(REQUEST_ID_BYTES)),
    ts: Math.round(options.now ?? Date.now()),
    endpoint: request.endpoint,
    body: request.body,
  };
  const bytes = utf8(JSON.stringify(plaintext));
  if (bytes.length > MAX_REQUEST_PLAINTEXT_BYTES) {
    throw new FrameTooLargeError(
      `request is ${bytes.length} bytes; the limit is ${MAX_REQUEST_PLAINTEXT_BYTES}`,
    );
  }
  const prepared = await (options.seals?.take(key) ??
    prepareSeal(key.publicKeyBytes, requestInfo(key.peerId, key.keyId)));
  const sealed = await prepared.seal(bytes);
  return {
    message: {
      type: 'request',
      keyId: key.keyId,
      enc: toBase64Url(sealed.enc),
      ct: toBase64Url(sealed.ct),
    },
    reader: new ResponseReader(new ResponseOpener(sealed.secret, sealed.enc)),
    requestId: plaintext.id,
  };
}

/**
 * Client side: turns received frames into response events, in order, and insists on
 * the final chunk. A plaintext error frame becomes a thrown `RemoteError`.
 */
export class ResponseReader {
  readonly #opener: ResponseOpener;

  constructor(opener: ResponseOpener) {
    this.#opener = opener;
  }

  /** True once the final chunk has opened. */
  get finished(): boolean {
    return this.#opener.finished;
  }

  /** Takes one frame; returns the events it carried (none for `response-start`). */
  async accept(message: NodeToClientInferenceMessage): Promise<ResponseEvent[]> {
    switch (message.type) {
      case 'error':
        throw new RemoteError(message.code, message.message, {
          retryAfterMs: message.retryAfterMs,
          serverTime: message.serverTime,
        });
      case 'response-start':
        this.#opener.begin(fromBase64Url(message.nonce));
        return [];
      case 'chunk': {
        const plaintext = await this.#opener.open(fromBase64Url(message.ct), message.final);
        const events = decodeMessage(plaintext, ResponseEvents);
        const terminal = events.findIndex((e) => e.type !== 'chunk');
        if (terminal !== -1 && terminal !== events.length - 1) {
          throw new InvalidMessageError('events after the end of the response');
        }
        if ((terminal !== -1) !== message.final) {
          throw new InvalidMessageError('final flag does not match the events');
        }
        return events;
      }
    }
  }

  /** Call when the transport ends; throws `TruncatedResponseError` if cut short. */
  end(): void {
    this.#opener.end();
  }

  /** Convenience: events from an async iterable of frames, checking the end. */
  async *events(
    messages: AsyncIterable<NodeToClientInferenceMessage>,
  ): AsyncGenerator<ResponseEvent> {
    for await (const message of messages) {
      yield* await this.accept(message);
      if (this.finished) return;
    }
    this.end();
  }
}

export interface OpenRequestOptions {
  /** This node's PeerId (bound into the HPKE info). */
  peerId: string;
  /** The key pair for a key id, or undefined if the node does not hold it. */
  keyFor(keyId: string): CryptoKeyPair | undefined;
  replay: ReplayGuard;
}

/** Node side: opens, validates and replay-checks a sealed request. */
export async function openInferenceRequest(
  message: ClientToNodeRequest,
  options: OpenRequestOptions,
): Promise<{ request: SealedRequestPlaintext; writer: ResponseWriter }> {
  const keyPair = options.keyFor(message.keyId);
  if (keyPair == null) throw new UnknownKeyError();
  const enc = fromBase64Url(message.enc);
  const { plaintext, secret } = await openWithKey(
    keyPair,
    enc,
    requestInfo(options.peerId, message.keyId),
    fromBase64Url(message.ct),
  );
  const request = decodeMessage(plaintext, SealedRequestPlaintext);
  options.replay.check(request.id, request.ts);
  return { request, writer: new ResponseWriter(ResponseSealer.create(secret, enc)) };
}

/** Node side: produces the frames of one response. */
export class ResponseWriter {
  readonly #sealer: ResponseSealer;
  #started = false;

  constructor(sealer: ResponseSealer) {
    this.#sealer = sealer;
  }

  get finished(): boolean {
    return this.#sealer.finished;
  }

  /** The first frame: the response nonce. */
  start(): NodeToClientInferenceMessage {
    if (this.#started) throw new InvalidMessageError('response already started');
    this.#started = true;
    return { type: 'response-start', nonce: toBase64Url(this.#sealer.nonce) };
  }

  /**
   * Seals events that are ready together into one chunk. A `done`, `result` or `error`
   * event ends the response: it must come last, and makes the chunk final.
   */
  async events(events: readonly ResponseEvent[]): Promise<NodeToClientInferenceMessage> {
    if (!this.#started) throw new InvalidMessageError('response not started');
    if (events.length === 0) throw new InvalidMessageError('a chunk carries at least one event');
    const terminal = events.findIndex((e) => e.type !== 'chunk');
    if (terminal !== -1 && terminal !== events.length - 1) {
      throw new InvalidMessageError('events after the end of the response');
    }
    const plaintext = utf8(JSON.stringify(events));
    if (plaintext.length > MAX_CHUNK_PLAINTEXT_BYTES) {
      throw new FrameTooLargeError('response events too large for one chunk');
    }
    const final = terminal !== -1;
    return { type: 'chunk', final, ct: toBase64Url(await this.#sealer.seal(plaintext, final)) };
  }

  /** Seals one event (see `events`). */
  event(event: ResponseEvent): Promise<NodeToClientInferenceMessage> {
    return this.events([event]);
  }
}

/** The plaintext error frame for a failure before a request opened. */
export function errorFrame(
  err: unknown,
  extra: { retryAfterMs?: number; serverTime?: number } = {},
): NodeToClientError {
  if (err instanceof ProtocolError) {
    const frame: NodeToClientError = {
      type: 'error',
      code: err.code,
      message: err.message.slice(0, 512),
    };
    if (extra.retryAfterMs != null) frame.retryAfterMs = Math.round(extra.retryAfterMs);
    if (err instanceof StaleRequestError && extra.serverTime != null)
      frame.serverTime = extra.serverTime;
    return frame;
  }
  return { type: 'error', code: 'internal', message: 'internal error' };
}
