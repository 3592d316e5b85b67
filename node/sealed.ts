/**
 * Serving one sealed request, whatever carried it (a libp2p inference stream or an HTTP
 * body in encrypted mode): open it, check freshness and replay, run it, and seal its
 * events, one sealed chunk per batch of the service (the first event at once, later ones
 * gathered per `STREAM_WINDOW_MS`, see InferenceService). Yields the frames
 * to send, in order: either one plaintext error frame (the request could not be opened),
 * or `response-start` followed by sealed chunks.
 */
import { logger } from '@libp2p/logger';
import {
  errorFrame,
  openInferenceRequest,
  ProtocolError,
  type ClientToNodeRequest,
  type InferenceEndpoint,
  type NodeToClientInferenceMessage,
  type ReplayGuard,
} from '../protocol/index.js';
import type { Keyring } from './keyring.js';
import { errorEvent, type InferenceService } from './service.js';
import { invalidRequest } from './openai/errors.js';

const log = logger('tokenplace:node:sealed');

export interface SealedContext {
  peerId: string;
  keyring: Keyring;
  replay: ReplayGuard;
  service: InferenceService;
}

export async function* serveSealedRequest(
  message: ClientToNodeRequest,
  ctx: SealedContext,
  options: { signal: AbortSignal; endpoint?: InferenceEndpoint },
): AsyncGenerator<NodeToClientInferenceMessage> {
  let opened: Awaited<ReturnType<typeof openInferenceRequest>>;
  try {
    opened = await openInferenceRequest(message, {
      peerId: ctx.peerId,
      replay: ctx.replay,
      keyFor: (keyId) => ctx.keyring.keyFor(keyId),
    });
  } catch (err) {
    log('refused sealed request: %s', err instanceof ProtocolError ? err.code : 'internal');
    yield errorFrame(err, { serverTime: ctx.replay.now() });
    return;
  }
  const { request, writer } = opened;
  yield writer.start();
  if (options.endpoint != null && request.endpoint !== options.endpoint) {
    yield await writer.event(
      errorEvent(
        invalidRequest(`This request was sealed for ${request.endpoint}, not ${options.endpoint}.`),
      ),
    );
    return;
  }
  for await (const batch of ctx.service.run(request.endpoint, request.body, {
    signal: options.signal,
  })) {
    yield await writer.events(batch);
    if (writer.finished) return;
  }
}
