/**
 * The node's side of `/tokenplace/info/1.0.0` and `/tokenplace/inference/1.0.0`.
 *
 * Inference: one sealed request per stream; frames are written with backpressure (a
 * write waits while the stream's send buffer is full); a reset from the client aborts
 * the generation at once; inference never runs over a relay's limited circuit (the
 * protocol is not registered for limited connections), so answers flow directly.
 */
import { lpStream } from '@libp2p/utils';
import { logger } from '@libp2p/logger';
import type { Connection, Stream } from '@libp2p/interface';
import {
  ClientToNodeInfoRequest,
  ClientToNodeRequest,
  errorFrame,
  INFERENCE_PROTOCOL,
  INFO_PROTOCOL,
  MAX_FRAME_BYTES,
  MAX_INFERENCE_FRAME_BYTES,
  readMessage,
  writeMessage,
  type NodeToClientInfo,
} from '../../protocol/index.js';
import { serveSealedRequest, type SealedContext } from '../sealed.js';
import type { ModelCardSigner } from './cards.js';

const log = logger('tokenplace:node:mesh:handlers');

/** How long a client may take to send its request after opening a stream. */
const REQUEST_READ_TIMEOUT_MS = 15_000;
/** Inference streams served at once per connection. */
const MAX_INBOUND_INFERENCE_STREAMS = 64;

export interface HandlerRegistrar {
  handle(
    protocol: string,
    handler: (stream: Stream, connection: Connection) => void | Promise<void>,
    options?: { maxInboundStreams?: number; runOnLimitedConnection?: boolean },
  ): Promise<void>;
  unhandle(protocol: string): Promise<void>;
}

export interface HandlerContext extends SealedContext {
  cards?: ModelCardSigner;
  /** Live load for nodes without a model. */
  load(): NodeToClientInfo['load'];
}

export async function registerHandlers(node: HandlerRegistrar, ctx: HandlerContext): Promise<void> {
  await node.handle(
    INFO_PROTOCOL,
    async (stream) => {
      const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES });
      try {
        await readMessage(lp, ClientToNodeInfoRequest, {
          signal: AbortSignal.timeout(REQUEST_READ_TIMEOUT_MS),
        });
        const info: NodeToClientInfo = {
          type: 'info',
          peerId: ctx.peerId,
          keyRecords: ctx.keyring.records(),
          modelCards: ctx.cards != null ? [await ctx.cards.card()] : [],
          load: ctx.load(),
        };
        await writeMessage(lp, info);
        await stream.close();
      } catch (err) {
        log('info stream failed: %s', (err as Error).name);
        stream.abort(err instanceof Error ? err : new Error('info failed'));
      }
    },
    { runOnLimitedConnection: true },
  );

  await node.handle(
    INFERENCE_PROTOCOL,
    async (stream, connection) => {
      const started = performance.now();
      const lp = lpStream(stream, { maxDataLength: MAX_INFERENCE_FRAME_BYTES });
      const controller = new AbortController();
      let finished = false;
      stream.addEventListener('close', () => {
        if (!finished) controller.abort(new Error('the client closed the stream'));
      });
      let message: ClientToNodeRequest;
      try {
        message = await readMessage(lp, ClientToNodeRequest, {
          signal: AbortSignal.any([
            controller.signal,
            AbortSignal.timeout(REQUEST_READ_TIMEOUT_MS),
          ]),
        });
      } catch (err) {
        finished = true;
        log('refused inference stream from %p: %s', connection.remotePeer, (err as Error).name);
        try {
          await writeMessage(lp, errorFrame(err));
          await stream.close();
        } catch {
          stream.abort(new Error('bad request'));
        }
        return;
      }
      let frames = 0;
      try {
        for await (const frame of serveSealedRequest(message, ctx, { signal: controller.signal })) {
          await writeMessage(lp, frame, { signal: controller.signal });
          frames++;
        }
        finished = true;
        await stream.close();
        log(
          'served %p: %d frames in %d ms',
          connection.remotePeer,
          frames,
          Math.round(performance.now() - started),
        );
      } catch (err) {
        finished = true;
        log(
          'inference stream from %p ended early after %d frames: %s',
          connection.remotePeer,
          frames,
          (err as Error).name,
        );
        stream.abort(err instanceof Error ? err : new Error('inference failed'));
      }
    },
    { maxInboundStreams: MAX_INBOUND_INFERENCE_STREAMS, runOnLimitedConnection: false },
  );
}

export async function unregisterHandlers(node: HandlerRegistrar): Promise<void> {
  await node.unhandle(INFO_PROTOCOL);
  await node.unhandle(INFERENCE_PROTOCOL);
}
