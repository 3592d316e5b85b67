/**
 * OpenAI-shaped errors of the gateway: `{ error: { message, type, param, code } }` with
 * the HTTP status OpenAI would use, rendered by one helper.
 */
import type { Context } from 'hono';
import type { OpenAIErrorBody } from '../../protocol/index.js';

export class GatewayError extends Error {
  static override readonly name = 'GatewayError';
  readonly status: number;
  readonly type: string;
  readonly code: string | null;
  readonly param: string | null;
  readonly retryAfterMs: number | undefined;

  constructor(
    status: number,
    message: string,
    type: string,
    options: { code?: string | null; param?: string | null; retryAfterMs?: number } = {},
  ) {
    super(message);
    this.name = 'GatewayError';
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
  options: { param?: string | null; code?: string | null } = {},
): GatewayError {
  return new GatewayError(400, message, 'invalid_request_error', options);
}

export function modelNotFound(model: string): GatewayError {
  return new GatewayError(
    404,
    `The model \`${model}\` does not exist: no node in the mesh serves it (GET /v1/models lists the models available).`,
    'invalid_request_error',
    { param: 'model', code: 'model_not_found' },
  );
}

export function nodeNotFound(peerId: string): GatewayError {
  return new GatewayError(
    404,
    `No inference node ${peerId} is known to this gateway (GET /v1/nodes lists them).`,
    'invalid_request_error',
    { code: 'node_not_found' },
  );
}

export function unreachable(message: string): GatewayError {
  return new GatewayError(502, message, 'server_error', { code: 'node_unreachable' });
}

export function tooLarge(limit: number): GatewayError {
  return new GatewayError(
    413,
    `Request body too large: the limit is ${limit} bytes.`,
    'invalid_request_error',
    { code: 'request_too_large' },
  );
}

export function errorResponse(c: Context, err: GatewayError): Response {
  if (err.retryAfterMs != null) {
    c.header('Retry-After', String(Math.max(1, Math.ceil(err.retryAfterMs / 1000))));
  }
  return c.json({ error: err.toBody() }, err.status as 400);
}
