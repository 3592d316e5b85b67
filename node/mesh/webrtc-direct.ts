/**
 * libp2p's WebRTC-direct transport (browsers dial the node's UDP port in one step), with
 * two guards its listener lacks:
 *
 * - **Handshake caps.** Every STUN binding request with a new ICE ufrag makes the
 *   listener create a native peer connection and wait up to the inbound upgrade timeout
 *   (10 s) for the DTLS and Noise handshakes. Nothing bounds how many: on loopback, one
 *   sender of a thousand unauthenticated packets a second took a node from 174 MiB to
 *   890 MiB in a few seconds, and its OpenAI API from ~5 ms to 7–9 s per request. The
 *   listener here holds at most {@link MAX_PENDING_HANDSHAKES} handshakes at a time, and
 *   {@link MAX_PENDING_PER_ADDRESS} per remote address; requests beyond those are dropped
 *   (a browser's ICE agent retransmits, so a real dial gets through once a slot frees).
 *   A flood can still delay new browsers while it lasts, but the node and everyone
 *   connected to it carry on.
 * - **Exit.** {@link leaveWebRTCDirectPortsToExit}.
 *
 * Both reach into the listener's private members (@libp2p/webrtc 6.0): `incomingConnection`
 * and `stunServer`. tests/mesh/webrtc-direct.test.ts catches either one no longer working
 * (the flood test always; the exit test in ~19 of 20 runs, three stops each).
 */
import { logger } from '@libp2p/logger';
import { webRTCDirect } from '@libp2p/webrtc';
import type { Listener, Transport } from '@libp2p/interface';

const log = logger('tokenplace:node:mesh:webrtc-direct');

/** WebRTC-direct handshakes in progress at once, from everyone. */
export const MAX_PENDING_HANDSHAKES = 64;
/** WebRTC-direct handshakes in progress at once from one address (a NAT may hide several browsers). */
export const MAX_PENDING_PER_ADDRESS = 8;
/** Refused handshakes are logged at most this often. */
const REFUSED_LOG_INTERVAL_MS = 10_000;

/** Counts handshakes in progress, overall and per remote address, against caps. */
export class HandshakeGate {
  readonly #max: number;
  readonly #maxPerAddress: number;
  readonly #byAddress = new Map<string, number>();
  #pending = 0;
  /** Handshakes refused so far. */
  refused = 0;

  constructor(max = MAX_PENDING_HANDSHAKES, maxPerAddress = MAX_PENDING_PER_ADDRESS) {
    this.#max = max;
    this.#maxPerAddress = maxPerAddress;
  }

  get pending(): number {
    return this.#pending;
  }

  /**
   * A slot for a handshake from `address`, or `undefined` when a cap is reached. Call the
   * returned function once, when the handshake has ended either way.
   */
  admit(address: string): (() => void) | undefined {
    const fromAddress = this.#byAddress.get(address) ?? 0;
    if (this.#pending >= this.#max || fromAddress >= this.#maxPerAddress) {
      this.refused++;
      return undefined;
    }
    this.#pending++;
    this.#byAddress.set(address, fromAddress + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#pending--;
      const left = (this.#byAddress.get(address) ?? 1) - 1;
      if (left === 0) this.#byAddress.delete(address);
      else this.#byAddress.set(address, left);
    };
  }
}

/** Whether a stopped listener leaves its STUN socket to the process's exit. */
let portsCloseAtExit = false;

/**
 * Call when the process ends right after stopping its nodes (the `node` and `start`
 * commands on Ctrl-C): stopping a WebRTC-direct listener then leaves its native STUN
 * socket open, for the exit to close.
 *
 * Why: libdatachannel (inside node-datachannel 0.33) unregisters the listener's STUN
 * callback from libjuice without the bind address it registered it under, so whenever
 * the listener was bound to an address the callback stays registered, pointing at the
 * freed listener. The next STUN request for an unknown ICE ufrag (a browser's consent
 * check on a connection just closed, a browser dialling) runs it, and the process dies
 * with SIGSEGV or glibc's "pthread_mutex_lock … Assertion failed" instead of exiting 0.
 * Everything else about the listener still stops: its connections close and it refuses
 * new ones.
 *
 * Not for a process that carries on: the native listener, and the callback into
 * JavaScript it holds (which keeps the event loop alive), would outlive the node.
 */
export function leaveWebRTCDirectPortsToExit(): void {
  portsCloseAtExit = true;
}

/** libp2p's WebRTC-direct transport, whose listeners are guarded as described above. */
export function webRTCDirectTransport(
  init: Parameters<typeof webRTCDirect>[0],
): ReturnType<typeof webRTCDirect> {
  const create = webRTCDirect(init);
  return (components) => {
    const transport: Transport = create(components);
    const createListener = transport.createListener.bind(transport);
    transport.createListener = (options) => guarded(createListener(options), new HandshakeGate());
    return transport;
  };
}

type IncomingConnection = (
  ufrag: string,
  remoteHost: string,
  remotePort: number,
  signal: AbortSignal,
) => Promise<void>;

function guarded(listener: Listener, gate: HandshakeGate): Listener {
  const inner = listener as unknown as {
    incomingConnection?: IncomingConnection;
    stunServer?: { close(): Promise<void> };
  };
  const incoming = inner.incomingConnection?.bind(listener);
  if (incoming == null) {
    log.error('cannot cap WebRTC-direct handshakes: @libp2p/webrtc has changed');
  } else {
    let lastLogged = 0;
    let refusedAtLog = 0;
    inner.incomingConnection = async (ufrag, remoteHost, remotePort, signal) => {
      const done = gate.admit(remoteHost);
      if (done == null) {
        const now = Date.now();
        if (now - lastLogged >= REFUSED_LOG_INTERVAL_MS) {
          log(
            'refused %d WebRTC-direct handshake(s) over the caps (%d pending; at most %d, %d per address)',
            gate.refused - refusedAtLog,
            gate.pending,
            MAX_PENDING_HANDSHAKES,
            MAX_PENDING_PER_ADDRESS,
          );
          lastLogged = now;
          refusedAtLog = gate.refused;
        }
        return;
      }
      try {
        await incoming(ufrag, remoteHost, remotePort, signal);
      } finally {
        done();
      }
    };
  }
  const close = listener.close.bind(listener);
  listener.close = async () => {
    // The listener's STUN socket: its close() is what reaches IceUdpMuxListener.stop().
    if (portsCloseAtExit && inner.stunServer != null) inner.stunServer.close = async () => {};
    await close();
  };
  return listener;
}
