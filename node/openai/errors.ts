/**
 * The node's OpenAI-shaped errors (`OpenAIError`, from protocol/): the helpers below build
 * them, one handler renders them.
 */
import { OpenAIError } from '../../protocol/index.js';

export { OpenAIError };

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
