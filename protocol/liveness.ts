/**
 * Telling a node that is thinking from a node that is gone, while a request waits on it.
 *
 * A node that crashes or shuts down closes its connections, and its client learns at
 * once. A node that freezes, loses power or drops off the network closes nothing: its
 * TCP or WebRTC connection looks open until libp2p's connection monitor or ICE gives
 * up. With libp2p's defaults (a ping every 10 s, at least 5 s to answer) the answer
 * stalled for 6–16 s here; token.place's own setting (`CONNECTION_MONITOR`: every 3 s,
 * 2 s to answer, up to 10 s once answers were slow) takes 2–5 s, and only on peers that
 * run it. A silent stream alone says nothing either: a real model on a small machine may
 * think for many seconds before its first token.
 *
 * So a client also watches the stream it waits on, whatever the connection's settings.
 * After {@link SILENCE_BEFORE_PING_MS} without a frame it pings the node over that very
 * connection (libp2p's standard `/ipfs/ping/1.0.0`, which every peer serves), and again
 * after each quiet spell. A node that is alive answers within milliseconds, however busy
 * its model; one that does not answer within the ping timeout is gone, and the watch
 * says so. (A node that answers its pings and never its request is alive to this watch:
 * the caller's own patience ends that wait, see `RecentFailures.abandoned` in mesh.ts.)
 *
 * Platform-neutral: the same watch runs in a routing node, a gateway and a browser.
 */
import { byteStream } from '@libp2p/utils';
import type { AbortOptions, Connection } from '@libp2p/interface';
import { equalBytes } from './bytes.js';
import { randomBytes } from './crypto.js';
import { ProtocolError } from './errors.js';
import { runLater } from './timers.js';

/** libp2p's ping protocol: 32 bytes out, the same 32 bytes back. */
export const PING_PROTOCOL = '/ipfs/ping/1.0.0';
const PING_BYTES = 32;

/** Silence on a stream before its peer is pinged (and between pings while it stays silent). */
export const SILENCE_BEFORE_PING_MS = 1_000;
/** Least time a ping is given to come back: a busy but live node answers well within it. */
export const MIN_PING_TIMEOUT_MS = 2_000;
/** Most time a ping is given, however slow the connection's measured round trip. */
export const MAX_PING_TIMEOUT_MS = 5_000;
/** The ping timeout in measured round trips (libp2p keeps `connection.rtt` up to date). */
const PING_TIMEOUT_RTTS = 10;

/** The node stopped answering: no reply to a ping on the connection in time. */
export class UnresponsiveNodeError extends ProtocolError {
  static override readonly name = 'UnresponsiveNodeError';
  constructor(message = 'the node stopped responding') {
    super(message, 'internal');
    this.name = 'UnresponsiveNodeError';
  }
}

/**
 * One ping on `connection` (not on whichever connection libp2p would pick for the
 * peer): resolves with the round trip in milliseconds, rejects if the echo is wrong or
 * the stream fails.
 */
export async function pingConnection(
  connection: Connection,
  options: AbortOptions = {},
): Promise<number> {
  const stream = await connection.newStream(PING_PROTOCOL, {
    runOnLimitedConnection: true,
    ...options,
  });
  try {
    const bytes = byteStream(stream);
    const data = randomBytes(PING_BYTES);
    const start = Date.now();
    const [, echo] = await Promise.all([
      bytes.write(data, options),
      bytes.read({ bytes: PING_BYTES, ...options }),
    ]);
    const rtt = Date.now() - start;
    if (!equalBytes(echo.subarray(), data)) throw new ProtocolError('wrong ping echo');
    await stream.close(options).catch(() => {});
    return rtt;
  } catch (err) {
    stream.abort(err instanceof Error ? err : new Error(String(err)));
    throw err;
  }
}

export interface SilenceWatchOptions {
  /** Silence before a ping. @default {@link SILENCE_BEFORE_PING_MS} */
  quietMs?: number;
  /**
   * Time a ping is given. @default ten of the connection's measured round trips, within
   * {@link MIN_PING_TIMEOUT_MS}–{@link MAX_PING_TIMEOUT_MS}
   */
  timeoutMs?: number;
}

/**
 * Watches a peer while something waits on it over `connection`: call {@link progress}
 * whenever the peer sends something, {@link stop} when done. After a quiet spell the
 * peer is pinged; if no reply comes within the timeout, `onUnresponsive` gets an
 * {@link UnresponsiveNodeError}, once, and the watch ends.
 *
 * Only silence counts: a ping that fails fast (the connection closed, the peer refused
 * the stream) means the peer or the connection answered, and whatever waits on it will
 * learn the rest by itself.
 */
export class SilenceWatch {
  readonly #connection: Connection;
  readonly #onUnresponsive: (err: UnresponsiveNodeError) => void;
  readonly #quietMs: number;
  readonly #timeoutMs: number | undefined;
  readonly #stopped = new AbortController();
  #lastProgress = Date.now();

  constructor(
    connection: Connection,
    onUnresponsive: (err: UnresponsiveNodeError) => void,
    options: SilenceWatchOptions = {},
  ) {
    this.#connection = connection;
    this.#onUnresponsive = onUnresponsive;
    this.#quietMs = options.quietMs ?? SILENCE_BEFORE_PING_MS;
    this.#timeoutMs = options.timeoutMs;
    this.#schedule(this.#quietMs);
  }

  /** The peer sent something: the silence starts over. */
  progress(): void {
    this.#lastProgress = Date.now();
  }

  stop(): void {
    this.#stopped.abort();
  }

  #schedule(ms: number): void {
    if (this.#stopped.signal.aborted) return;
    runLater(() => void this.#check(), ms);
  }

  async #check(): Promise<void> {
    if (this.#stopped.signal.aborted) return;
    // A closed connection fails whatever waits on it by itself: nothing left to watch.
    if (this.#connection.status !== 'open') {
      this.stop();
      return;
    }
    const quiet = Date.now() - this.#lastProgress;
    if (quiet < this.#quietMs) {
      this.#schedule(this.#quietMs - quiet);
      return;
    }
    const timeoutMs = this.#timeoutMs ?? pingTimeoutMs(this.#connection.rtt);
    const before = this.#lastProgress;
    // A ping that fails fast (the connection closed, the stream refused) still answered.
    const ping = pingConnection(this.#connection, { signal: this.#stopped.signal });
    const answered = await settlesWithin(ping, timeoutMs);
    if (this.#stopped.signal.aborted) return;
    // Silent all along, ping unanswered: gone. (Anything it sent meanwhile says otherwise.)
    if (!answered && this.#lastProgress === before) {
      this.stop();
      this.#onUnresponsive(
        new UnresponsiveNodeError(
          `the node stopped responding (no reply to a ping in ${(timeoutMs / 1000).toFixed(1)} s)`,
        ),
      );
      return;
    }
    this.#schedule(this.#quietMs);
  }
}

/** A timer this late means this side's own event loop stalled, not the peer. */
const STALL_MS = 250;

/**
 * True if `promise` settles within `ms` of this side's running time. A timer that fires
 * late (this event loop was blocked: a long render, a GC pause, a laptop waking up)
 * says nothing about the peer, whose echo may be queued behind it: the wait starts
 * over. Whatever is already queued runs before the verdict.
 */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false;
  const settling = promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (;;) {
    const due = Date.now() + ms;
    await Promise.race([settling, sleep(ms)]);
    if (settled) return true;
    await sleep(0);
    if (settled) return true;
    if (Date.now() - due < STALL_MS) return false;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => runLater(resolve, ms));
}

/** Ten measured round trips, within the minimum and the maximum. */
export function pingTimeoutMs(rttMs: number | undefined): number {
  const scaled = rttMs != null && Number.isFinite(rttMs) ? rttMs * PING_TIMEOUT_RTTS : 0;
  return Math.min(MAX_PING_TIMEOUT_MS, Math.max(MIN_PING_TIMEOUT_MS, scaled));
}
