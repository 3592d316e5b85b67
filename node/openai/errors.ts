/**
 * OpenAI-shaped errors: `{ error: { message, type, param, code } }` with the HTTP status
 * OpenAI would use. One class, built by the helpers below, rendered by one handler.
 */
import type { OpenAIErrorBody } from '../../protocol/index.js';

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

export function invalidRequest(
  message: string,
  param: string | null = null,
  code: string | null = null,
): OpenAIError {
  return new OpenAIError(400, message, 'invalid_request_error', { param, code });
}

export function unsupported(param: string, message: string): OpenAIError {
  return new OpenAIError(400, message, 'invalid_request_error', {
    param,
    code: 'unsupported_parameter',
  });
}

export function modelNotFound(model: string): OpenAIError {
  return new OpenAIError(
    404,
    `The model \`${model}\` does not exist: no node serves it (GET /v1/models lists the models available).`,
    'invalid_request_error',
    { param: 'model', code: 'model_not_found' },
  );
}

export function busy(retryAfterMs: number): OpenAIError {
  return new OpenAIError(
    429,
    'The node is at capacity and its queue is full; retry after the time given in Retry-After.',
    'rate_limit_error',
    { code: 'rate_limit_exceeded', retryAfterMs },
  );
}

export function serverError(
  message = 'The node failed while processing the request.',
): OpenAIError {
  return new OpenAIError(500, message, 'server_error', { code: 'internal_error' });
}

/** Any thrown value as an OpenAIError (internal details are not exposed to the client). */
export function toOpenAIError(err: unknown): OpenAIError {
  return err instanceof OpenAIError ? err : serverError();
}
