/**
 * The `tap`: an optional observer of every byte this bootstrap handles in the clear,
 * for tests that prove what a relay or gateway can and cannot see.
 *
 * - `libp2p`: the bytes of every libp2p connection *after* Noise decryption (`in`) and
 *   *before* Noise encryption (`out`): multistream-select, yamux frames, identify, DHT,
 *   directory and info messages, relayed circuit traffic (itself end-to-end encrypted
 *   by the peers' own Noise session), and the gateway's inference streams.
 * - `http`: the bodies of gateway requests (`/v1`, `/api/v1`, `/nodes/…`) as received
 *   (`in`) and of their responses as sent (`out`).
 *
 * When no tap is given nothing is wrapped: the hook costs nothing.
 */
import type {
  ConnectionEncrypter,
  MessageStream,
  SecuredConnection,
  StreamMessageEvent,
} from '@libp2p/interface';
import type { Uint8ArrayList } from 'uint8arraylist';

export type TapDirection = 'in' | 'out';
export type TapSource = 'libp2p' | 'http';

/**
 * Called synchronously with bytes the bootstrap sees in the clear. `bytes` may be a view
 * into a buffer that is reused later: copy what you keep. Must not throw.
 */
export type Tap = (direction: TapDirection, bytes: Uint8Array, source: TapSource) => void;

function flat(data: Uint8Array | Uint8ArrayList): Uint8Array {
  return data instanceof Uint8Array ? data : data.subarray();
}

/** Observes a decrypted connection without adding a `message` listener (which would change when buffered data flows). */
function tapMessageStream(stream: MessageStream, tap: Tap): void {
  const dispatchEvent = stream.dispatchEvent.bind(stream);
  stream.dispatchEvent = (event: Event): boolean => {
    if (event.type === 'message') tap('in', flat((event as StreamMessageEvent).data), 'libp2p');
    return dispatchEvent(event);
  };
  const send = stream.send.bind(stream);
  stream.send = (data: Uint8Array | Uint8ArrayList): boolean => {
    tap('out', flat(data), 'libp2p');
    return send(data);
  };
}

/** Wraps a connection encrypter factory (Noise) so its secured connections are tapped. */
export function tapEncrypter<C>(
  factory: (components: C) => ConnectionEncrypter,
  tap: Tap,
): (components: C) => ConnectionEncrypter {
  return (components) => {
    const inner = factory(components);
    const wrap = async (secured: Promise<SecuredConnection>): Promise<SecuredConnection> => {
      const result = await secured;
      tapMessageStream(result.connection, tap);
      return result;
    };
    // Everything else (protocol id, capabilities) comes from the real encrypter.
    const wrapped = Object.create(inner) as ConnectionEncrypter;
    wrapped.secureInbound = (connection, options) => wrap(inner.secureInbound(connection, options));
    wrapped.secureOutbound = (connection, options) =>
      wrap(inner.secureOutbound(connection, options));
    return wrapped;
  };
}

/** A copy of `body` that reports each chunk to the tap as it passes. */
export function tapBody(
  body: ReadableStream<Uint8Array>,
  tap: Tap,
  direction: TapDirection,
): ReadableStream<Uint8Array> {
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        tap(direction, chunk, 'http');
        controller.enqueue(chunk);
      },
    }),
  );
}
