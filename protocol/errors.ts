/**
 * Named errors of the token.place protocol, and the closed set of error codes that
 * cross the wire. Callers match on `err.name` (as js-libp2p does) or on `err.code`.
 *
 * No error message here ever contains plaintext, keys, nonces or ciphertext.
 */

/** Every error code a peer may put in a `NodeToClientError` frame. Nothing else is valid. */
export const WIRE_ERROR_CODES = [
  /** The frame could not be parsed or failed schema validation. */
  'bad_message',
  /** A frame exceeded the protocol's size limit. */
  'too_large',
  /** The request was sealed to a key id the node does not hold (rotated out or never issued). */
  'unknown_key',
  /** The sealed request did not open. One generic code: it says nothing about why. */
  'decrypt_failed',
  /** The request timestamp is outside the node's clock window. */
  'stale_request',
  /** The request id was already seen: a replay. */
  'replayed_request',
  /** The node's queue is full; retry later (`retryAfterMs`). */
  'overloaded',
  /** The node is shutting down or hit an internal fault. */
  'internal',
] as const;

export type WireErrorCode = (typeof WIRE_ERROR_CODES)[number];

/**
 * The HTTP status that carries a plaintext error frame in encrypted mode over HTTP
 * (docs/PROTOCOL.md): what nodes and the bootstrap's gateway answer.
 */
export const SEALED_ERROR_HTTP_STATUS: Readonly<Record<WireErrorCode, number>> = {
  bad_message: 400,
  too_large: 413,
  unknown_key: 400,
  decrypt_failed: 400,
  stale_request: 400,
  replayed_request: 400,
  overloaded: 429,
  internal: 500,
};

/** Base class: every token.place protocol error carries a wire-safe `code`. */
export class ProtocolError extends Error {
  readonly code: WireErrorCode;

  constructor(message: string, code: WireErrorCode = 'internal') {
    super(message);
    this.name = 'ProtocolError';
    this.code = code;
  }
}

/** A frame or message that does not match its schema. */
export class InvalidMessageError extends ProtocolError {
  static override readonly name = 'InvalidMessageError';
  constructor(message = 'invalid message') {
    super(message, 'bad_message');
    this.name = 'InvalidMessageError';
  }
}

/** A frame larger than the limit for its protocol. */
export class FrameTooLargeError extends ProtocolError {
  static override readonly name = 'FrameTooLargeError';
  constructor(message = 'frame too large') {
    super(message, 'too_large');
    this.name = 'FrameTooLargeError';
  }
}

/** The stream ended where the protocol needed another frame. */
export class UnexpectedEndError extends ProtocolError {
  static override readonly name = 'UnexpectedEndError';
  constructor(message = 'stream ended unexpectedly') {
    super(message, 'bad_message');
    this.name = 'UnexpectedEndError';
  }
}

/**
 * A sealed request or response chunk that did not open: wrong key, flipped byte,
 * reordered, replayed or dropped chunk. Deliberately one message for every cause.
 */
export class DecryptionError extends ProtocolError {
  static override readonly name = 'DecryptionError';
  constructor(message = 'decryption failed') {
    super(message, 'decrypt_failed');
    this.name = 'DecryptionError';
  }
}

/** A response stream that ended before its final chunk (cut off). */
export class TruncatedResponseError extends ProtocolError {
  static override readonly name = 'TruncatedResponseError';
  constructor(message = 'response ended before its final chunk') {
    super(message, 'bad_message');
    this.name = 'TruncatedResponseError';
  }
}

/** The request was sealed to a key the node does not hold. */
export class UnknownKeyError extends ProtocolError {
  static override readonly name = 'UnknownKeyError';
  constructor(message = 'unknown key id') {
    super(message, 'unknown_key');
    this.name = 'UnknownKeyError';
  }
}

/** The request timestamp is too far from the node's clock. */
export class StaleRequestError extends ProtocolError {
  static override readonly name = 'StaleRequestError';
  constructor(message = 'request timestamp outside the allowed clock skew') {
    super(message, 'stale_request');
    this.name = 'StaleRequestError';
  }
}

/** A request id seen before. */
export class ReplayedRequestError extends ProtocolError {
  static override readonly name = 'ReplayedRequestError';
  constructor(message = 'request id already seen (replay)') {
    super(message, 'replayed_request');
    this.name = 'ReplayedRequestError';
  }
}

/** A signed record whose signature does not verify for the expected PeerId. */
export class InvalidSignatureError extends ProtocolError {
  static override readonly name = 'InvalidSignatureError';
  constructor(message = 'signature does not verify') {
    super(message, 'bad_message');
    this.name = 'InvalidSignatureError';
  }
}

/** A signed record that names (or was signed by) a different PeerId than expected. */
export class PeerIdMismatchError extends ProtocolError {
  static override readonly name = 'PeerIdMismatchError';
  constructor(message = 'record belongs to a different peer') {
    super(message, 'bad_message');
    this.name = 'PeerIdMismatchError';
  }
}

/** A signed record outside its validity window. */
export class RecordExpiredError extends ProtocolError {
  static override readonly name = 'RecordExpiredError';
  constructor(message = 'record is expired or not yet valid') {
    super(message, 'bad_message');
    this.name = 'RecordExpiredError';
  }
}

/** A record for a cipher suite this implementation does not speak. */
export class UnsupportedSuiteError extends ProtocolError {
  static override readonly name = 'UnsupportedSuiteError';
  constructor(message = 'unsupported HPKE suite') {
    super(message, 'bad_message');
    this.name = 'UnsupportedSuiteError';
  }
}

/** WebCrypto is missing (an insecure browser context, or a very old runtime). */
export class CryptoUnavailableError extends ProtocolError {
  static override readonly name = 'CryptoUnavailableError';
  constructor(message = 'WebCrypto is not available (a secure context is required)') {
    super(message, 'internal');
    this.name = 'CryptoUnavailableError';
  }
}

/** The remote peer answered with an error frame. */
export class RemoteError extends ProtocolError {
  static override readonly name = 'RemoteError';
  readonly retryAfterMs: number | undefined;
  readonly serverTime: number | undefined;

  constructor(
    code: WireErrorCode,
    message: string,
    extra: { retryAfterMs?: number | undefined; serverTime?: number | undefined } = {},
  ) {
    super(message, code);
    this.name = 'RemoteError';
    this.retryAfterMs = extra.retryAfterMs;
    this.serverTime = extra.serverTime;
  }
}
