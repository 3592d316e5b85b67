/**
 * Named errors of the inference engine. The model errors (`ModelNotFoundError`,
 * `ModelLoadError`, `OfflineModelError`) live in `node/models/` and are re-exported here,
 * so callers import every engine failure from one place and match on `err.name`.
 */
export { ModelLoadError, ModelNotFoundError, OfflineModelError } from '../models/errors.js';

/**
 * Every sequence is busy and the wait queue is full. Thrown by a generation's first
 * `next()`, before any token; the HTTP layer answers 429 with `Retry-After`.
 */
export class EngineBusyError extends Error {
  static override readonly name = 'EngineBusyError';
  /** A hint: when a retry has a fair chance, in milliseconds. */
  readonly retryAfterMs: number;

  constructor(
    retryAfterMs: number,
    message = 'the engine is busy: every sequence and queue slot is taken',
  ) {
    super(message);
    this.name = 'EngineBusyError';
    this.retryAfterMs = retryAfterMs;
  }
}

/** The request itself is wrong (bad parameter, unsupported JSON schema, prompt too long). */
export class InvalidRequestError extends Error {
  static override readonly name = 'InvalidRequestError';
  /** The offending parameter, in the engine's names (`temperature`, `responseFormat`, …). */
  readonly param: string | undefined;

  constructor(message: string, param?: string) {
    super(message);
    this.name = 'InvalidRequestError';
    this.param = param;
  }
}

/** The engine was closed: no new requests, and queued ones are turned away. */
export class EngineClosedError extends Error {
  static override readonly name = 'EngineClosedError';
  constructor(message = 'the engine is closed') {
    super(message);
    this.name = 'EngineClosedError';
  }
}

/**
 * The model, its KV cache and the runtime do not fit in this machine's memory (RAM, or a
 * lower cgroup limit). Thrown by `createEngine` before loading anything; the message says
 * how much is needed, how much there is, and what to do.
 */
export class InsufficientMemoryError extends Error {
  static override readonly name = 'InsufficientMemoryError';
  /** The estimate, in bytes. */
  readonly neededBytes: number;
  /** The memory limit it was compared with, in bytes. */
  readonly limitBytes: number;

  constructor(message: string, neededBytes: number, limitBytes: number) {
    super(message);
    this.name = 'InsufficientMemoryError';
    this.neededBytes = neededBytes;
    this.limitBytes = limitBytes;
  }
}
