/**
 * An OpenAI-shaped error: `{ error: { message, type, param, code } }` with the HTTP status
 * OpenAI would use. Nodes and gateways build them; the same body travels inside sealed
 * `error` events (`OpenAIErrorBody`), so every way into the mesh fails the same way.
 */
import type { OpenAIErrorBody } from './messages.js';

export class OpenAIError extends Error {
  static override readonly name = 'OpenAIError';
  readonly status: number;
  readonly type: string;
  readonly code: string | null;
  readonly param: string | null;
  /** For 429: the Retry-After the client should honour. */
  readonly retryAfterMs: number | undefined;

  constructor(
    status: number,
    message: string,
    type: string,
    options: { code?: string | null; param?: string | null; retryAfterMs?: number } = {},
  ) {
    super(message);
    this.name = 'OpenAIError';
    this.status = status;
    this.type = type;
    this.code = options.code ?? null;
    this.param = options.param ?? null;
    this.retryAfterMs = options.retryAfterMs;
  }

  toBody(): OpenAIErrorBody {
    return { message: this.message, type: this.type, param: this.param, code: this.code };
  }
}
