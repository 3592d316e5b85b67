/**
 * The gateway's OpenAI-shaped errors (`OpenAIError`, from protocol/) and the one helper
 * that renders them.
 */
import type { Context } from 'hono';
import { OpenAIError } from '../../protocol/index.js';

export { OpenAIError };

export function invalidRequest(
  message: string,
  options: { param?: string | null; code?: string | null } = {},
): OpenAIError {
  return new OpenAIError(400, message, 'invalid_request_error', options);
}

export function modelNotFound(model: string): OpenAIError {
  return new OpenAIError(
    404,
    `The model \`${model}\` does not exist: no node in the mesh serves it (GET /v1/models lists the models available).`,
    'invalid_request_error',
    { param: 'model', code: 'model_not_found' },
  );
}

export function nodeNotFound(peerId: string): OpenAIError {
  return new OpenAIError(
    404,
    `No inference node ${peerId} is known to this gateway (GET /v1/nodes lists them).`,
    'invalid_request_error',
    { code: 'node_not_found' },
  );
}

export function unreachable(message: string): OpenAIError {
  return new OpenAIError(502, message, 'server_error', { code: 'node_unreachable' });
}

export function tooLarge(limit: number): OpenAIError {
  return new OpenAIError(
    413,
    `Request body too large: the limit is ${limit} bytes.`,
    'invalid_request_error',
    { code: 'request_too_large' },
  );
}

export function errorResponse(c: Context, err: OpenAIError): Response {
  if (err.retryAfterMs != null) {
    c.header('Retry-After', String(Math.max(1, Math.ceil(err.retryAfterMs / 1000))));
  }
  return c.json({ error: err.toBody() }, err.status as 400);
}
