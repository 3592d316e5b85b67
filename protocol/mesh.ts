/**
 * The client side of the token.place mesh protocols, over any libp2p v3 node (Node.js or
 * browser): ask a directory who serves a model, dial a provider directly, fetch and
 * verify its key record and model cards, and run one sealed request on it.
 *
 * Everything that comes from a peer is verified before use: key records and model cards
 * against the PeerId that Noise authenticated on *this* connection (never a PeerId a
 * directory or gateway claims), and cards relayed by a directory against the provider's
 * PeerId, so a directory can omit providers but not forge them.
 *
 * @example
 * ```ts
 * const providers = await lookupDirectory(libp2p, bootstrapAddr, { model: 'demo' });
 * const connection = await dialProvider(libp2p, providers[0]);
 * const info = await fetchNodeInfo(connection);
 * for await (const event of runInference(connection, info.key, { endpoint: 'chat.completions', body })) …
 * ```
 */
import { lpStream } from '@libp2p/utils';
import type { AbortOptions, Connection, PeerId, Stream } from '@libp2p/interface';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import { Circuit, WebRTC, WebRTCDirect } from '@multiformats/multiaddr-matcher';
import {
  DIRECTORY_PROTOCOL,
  INFERENCE_PROTOCOL,
  INFO_PROTOCOL,
  MAX_FRAME_BYTES,
  MAX_INFERENCE_FRAME_BYTES,
} from './constants.js';
import {
  PeerIdMismatchError,
  ProtocolError,
  TruncatedResponseError,
  UnexpectedEndError,
} from './errors.js';
import { readMessage, writeMessage } from './framing.js';
import { SilenceWatch, type SilenceWatchOptions, type UnresponsiveNodeError } from './liveness.js';
import {
  sealInferenceRequest,
  type InferenceRequest,
  type NodeKey,
  type SealAhead,
} from './inference.js';
import {
  DirectoryToClientProviders,
  NodeToClientInferenceMessage,
  type DirectoryProvider,
  NodeToClientInfo,
  type ClientToDirectoryLookup,
  type Load,
  type ModelCard,
  type ResponseEvent,
} from './messages.js';
import { selectKeyRecord, verifyModelCard, type VerifiedKeyRecord } from './records.js';
import { runLater, untilAborted } from './timers.js';

/** The few libp2p node methods the mesh client needs (any libp2p v3 node has them). */
export interface MeshPeer {
  dial(peer: PeerId | Multiaddr | Multiaddr[], options?: AbortOptions): Promise<Connection>;
  dialProtocol(
    peer: PeerId | Multiaddr | Multiaddr[],
    protocols: string | string[],
    options?: AbortOptions,
  ): Promise<Stream>;
  getConnections(peerId?: PeerId): Connection[];
}

/** A node's verified info: its current key and the models it serves. */
export interface VerifiedNodeInfo {
  peerId: string;
  key: VerifiedKeyRecord;
  cards: ModelCard[];
  load: Load;
}

/** How a connection reaches its peer, as users are told. */
export type Transport = 'direct WebRTC' | 'relayed' | 'WebSocket' | 'TCP' | 'direct';

/** True when data flows peer to peer: not through a relay's limited circuit. */
export function isDirect(connection: Connection): boolean {
  if (connection.limits != null) return false;
  const addr = connection.remoteAddr;
  return !Circuit.matches(addr) || WebRTC.matches(addr);
}

export function transportOf(connection: Connection): Transport {
  const addr = connection.remoteAddr;
  if (WebRTC.matches(addr) || WebRTCDirect.matches(addr)) return 'direct WebRTC';
  if (connection.limits != null || Circuit.matches(addr)) return 'relayed';
  const text = addr.toString();
  if (text.includes('/ws') || text.includes('/wss') || text.includes('/tls/ws')) return 'WebSocket';
  if (text.includes('/tcp/')) return 'TCP';
  return 'direct';
}

/**
 * One `/tokenplace/info/1.0.0` exchange: the node's info, as it answered, from the peer
 * the connection authenticated (its records are not verified here: see fetchNodeInfo).
 */
export async function requestNodeInfo(
  connection: Connection,
  options: AbortOptions = {},
): Promise<NodeToClientInfo> {
  const stream = await connection.newStream(INFO_PROTOCOL, {
    runOnLimitedConnection: true,
    ...(options.signal != null ? { signal: options.signal } : {}),
  });
  const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES });
  let info: NodeToClientInfo;
  try {
    await writeMessage(lp, { type: 'info-request' }, options);
    info = await readMessage(lp, NodeToClientInfo, options);
    await stream.close(options).catch(() => {});
  } catch (err) {
    stream.abort(err instanceof Error ? err : new Error(String(err)));
    throw err;
  }
  const remote = connection.remotePeer.toString();
  if (info.peerId !== remote) {
    throw new PeerIdMismatchError(`node answered as ${info.peerId} on a connection to ${remote}`);
  }
  return info;
}

/** Opens the info protocol and verifies everything against the connection's peer. */
export async function fetchNodeInfo(
  connection: Connection,
  options: AbortOptions & { now?: number } = {},
): Promise<VerifiedNodeInfo> {
  const info = await requestNodeInfo(connection, options);
  const remote = connection.remotePeer;
  const now = options.now ?? Date.now();
  const key = await selectKeyRecord(info.keyRecords, remote, now);
  // A card that does not verify (stale, or broken) is dropped, as a directory would; the
  // key record above is what must verify, or the node is not used at all.
  const cards: ModelCard[] = [];
  for (const envelope of info.modelCards) {
    try {
      cards.push(await verifyModelCard(envelope, remote, now));
    } catch {
      // dropped
    }
  }
  return { peerId: remote.toString(), key, cards, load: info.load };
}

/** A used standby stream's successor is opened this long after, out of the way of the answer. */
const REFILL_DELAY_MS = 50;

/**
 * Inference streams opened ahead of time, one per connection: opening a stream costs a
 * protocol-negotiation round trip through both peers' event loops (several milliseconds
 * on a busy machine), which would otherwise come before every first token. A standby
 * stream is used only while younger than `maxAgeMs` (nodes close a stream that sends no
 * request within 15 s), and a new one is opened in the background shortly after each use.
 */
export class StandbyStreams {
  readonly #standby = new WeakMap<Connection, { stream: Stream; at: number }>();
  /** Standby streams being opened; each settles once its stream is in `#standby` (or failed). */
  readonly #opening = new WeakMap<Connection, Promise<void>>();
  readonly #maxAgeMs: number;

  constructor(init: { maxAgeMs?: number } = {}) {
    this.#maxAgeMs = init.maxAgeMs ?? 10_000;
  }

  /**
   * A ready inference stream on `connection`: the standby one if usable, else the one
   * being opened (a first request right after `prime` finds it half-way: its
   * negotiation is ahead of a new stream's), else a new one.
   */
  async take(connection: Connection, options: AbortOptions = {}): Promise<Stream> {
    let stream = this.#claim(connection);
    const opening = this.#opening.get(connection);
    if (stream == null && opening != null) {
      await untilAborted(opening, options.signal);
      stream = this.#claim(connection);
    }
    stream ??= await connection.newStream(INFERENCE_PROTOCOL, options);
    // The next one once this request's first token is out (runInferenceBatches primes
    // it), or a moment later: opening it now would put its negotiation on both peers'
    // event loops right beside this request's first token.
    runLater(() => this.#refill(connection), REFILL_DELAY_MS);
    return stream;
  }

  /** Opens a stream on `connection` for its first request, unless one is ready. */
  prime(connection: Connection): void {
    this.#refill(connection);
  }

  /** The standby stream of `connection`, taken out, if it is still fresh and open. */
  #claim(connection: Connection): Stream | undefined {
    const standby = this.#standby.get(connection);
    if (standby == null) return undefined;
    this.#standby.delete(connection);
    const fresh = Date.now() - standby.at < this.#maxAgeMs;
    const open = standby.stream.status === 'open' && standby.stream.writeStatus === 'writable';
    if (fresh && open) return standby.stream;
    standby.stream.abort(new Error('standby stream expired'));
    return undefined;
  }

  #refill(connection: Connection): void {
    if (this.#standby.has(connection) || this.#opening.has(connection)) return;
    if (connection.status !== 'open') return;
    const opening = connection
      .newStream(INFERENCE_PROTOCOL)
      .then((stream) => {
        if (this.#standby.has(connection) || connection.status !== 'open')
          stream.abort(new Error('not needed'));
        else this.#standby.set(connection, { stream, at: Date.now() });
      })
      .catch(() => {})
      .finally(() => this.#opening.delete(connection));
    this.#opening.set(connection, opening);
  }
}

/** Options of {@link runInference} and {@link runInferenceBatches}. */
export type RunInferenceOptions = AbortOptions & {
  now?: number;
  streams?: StandbyStreams;
  seals?: SealAhead;
  /**
   * How the node is watched while the answer is awaited (see {@link SilenceWatch}); `false`
   * to rely on the connection alone. @default a ping after 1 s of silence
   */
  liveness?: SilenceWatchOptions | false;
};

/**
 * Runs one sealed request on a connection and yields the opened events. The key must
 * belong to the connection's peer. Returning early, throwing, or aborting `signal`
 * resets the stream, which stops the generation on the node at once. Pass `streams` to
 * use (and keep) a stream opened ahead of time, and `seals` to use a seal prepared ahead
 * of time. A node that stops responding while the answer is awaited (frozen, powered
 * off, off the network: its connection still looks open) fails the request with an
 * `UnresponsiveNodeError` within seconds, and its connection is closed.
 */
export async function* runInference(
  connection: Connection,
  key: NodeKey,
  request: InferenceRequest,
  options: RunInferenceOptions = {},
): AsyncGenerator<ResponseEvent> {
  for await (const batch of runInferenceBatches(connection, key, request, options)) {
    yield* batch;
  }
}

/**
 * {@link runInference}, yielding the events of each sealed chunk together, as the node
 * batched them: a relay of the answer (a routing node's SSE, a gateway) then writes one
 * batch at once instead of batching again on its own timer.
 */
export async function* runInferenceBatches(
  connection: Connection,
  key: NodeKey,
  request: InferenceRequest,
  options: RunInferenceOptions = {},
): AsyncGenerator<ResponseEvent[]> {
  if (key.peerId !== connection.remotePeer.toString()) {
    throw new PeerIdMismatchError('the key belongs to a different peer than the connection');
  }
  const streamOptions = options.signal != null ? { signal: options.signal } : {};
  // Seal while the stream opens (or is taken ready from the standby pool).
  const [{ message, reader }, stream] = await Promise.all([
    sealInferenceRequest(key, request, {
      ...(options.now != null ? { now: options.now } : {}),
      ...(options.seals != null ? { seals: options.seals } : {}),
    }),
    options.streams != null
      ? options.streams.take(connection, streamOptions)
      : connection.newStream(INFERENCE_PROTOCOL, streamOptions),
  ]);
  const lp = lpStream(stream, { maxDataLength: MAX_INFERENCE_FRAME_BYTES });
  const onAbort = (): void => stream.abort(new Error('request aborted by the client'));
  options.signal?.addEventListener('abort', onAbort, { once: true });
  let unresponsive: UnresponsiveNodeError | undefined;
  const watch =
    options.liveness === false
      ? undefined
      : new SilenceWatch(
          connection,
          (err) => {
            unresponsive = err;
            stream.abort(err);
            // The connection is as dead as the stream: the next request dials afresh.
            connection.abort(err);
          },
          options.liveness,
        );
  try {
    await writeMessage(lp, message, options);
    // Half-close without waiting: the answer can start arriving while the close settles.
    stream.close(options).catch(() => {});
    let answering = false;
    while (!reader.finished) {
      let frame: NodeToClientInferenceMessage;
      try {
        frame = await readMessage(lp, NodeToClientInferenceMessage, options);
      } catch (err) {
        if (unresponsive != null) throw unresponsive;
        if (err instanceof UnexpectedEndError)
          throw new TruncatedResponseError('the node closed the stream before the final chunk');
        throw err;
      }
      watch?.progress();
      const events = await reader.accept(frame);
      if (events.length === 0) continue;
      if (!answering) {
        answering = true;
        // The first token is out: ready the next request's stream and seal now rather
        // than later, so a request that follows at once finds them (after this write).
        runLater(() => {
          if (options.streams != null) options.streams.prime(connection);
          options.seals?.warm(key);
        }, 0);
      }
      yield events;
    }
  } catch (err) {
    // A write that failed because the watch closed the stream: say why.
    throw unresponsive ?? err;
  } finally {
    watch?.stop();
    options.signal?.removeEventListener('abort', onAbort);
    if (!reader.finished) stream.abort(new Error('response abandoned'));
  }
}

/** A provider from a directory, with the cards that verified against its PeerId. */
export interface VerifiedProvider {
  peerId: string;
  addrs: Multiaddr[];
  cards: ModelCard[];
  /**
   * Its current key, when the directory relayed its key records and one verified against
   * its PeerId: a client that dials that PeerId can seal to it without asking the node.
   */
  key?: VerifiedKeyRecord;
}

/**
 * Asks a bootstrap's directory who serves `model` (or every node). Cards that do not
 * verify against the provider's PeerId are dropped, and so is a provider left with none.
 */
export async function lookupDirectory(
  peer: MeshPeer,
  bootstrap: PeerId | Multiaddr | Multiaddr[],
  query: Omit<ClientToDirectoryLookup, 'type'> = {},
  options: AbortOptions & { now?: number } = {},
): Promise<VerifiedProvider[]> {
  const stream = await peer.dialProtocol(bootstrap, DIRECTORY_PROTOCOL, options);
  const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES });
  let response: DirectoryToClientProviders;
  try {
    await writeMessage(lp, { type: 'lookup', ...query } satisfies ClientToDirectoryLookup, options);
    response = await readMessage(lp, DirectoryToClientProviders, options);
    await stream.close(options).catch(() => {});
  } catch (err) {
    stream.abort(err instanceof Error ? err : new Error(String(err)));
    throw err;
  }
  return verifyProviders(response.providers, query, options.now ?? Date.now());
}

/**
 * Checks a directory's answer (a lookup's, or the snapshot in a bootstrap's
 * `/bootstrap.json`): cards and key records that do not verify against the provider's
 * PeerId are dropped, and so is a provider left without a card (of `query.model`).
 */
export async function verifyProviders(
  providers: readonly DirectoryProvider[],
  query: { model?: string | undefined } = {},
  now = Date.now(),
): Promise<VerifiedProvider[]> {
  const out: VerifiedProvider[] = [];
  for (const provider of providers) {
    const cards: ModelCard[] = [];
    for (const envelope of provider.cards) {
      try {
        cards.push(await verifyModelCard(envelope, provider.peerId, now));
      } catch {
        // A card that does not verify is a directory lying (or a stale card): drop it.
      }
    }
    if (cards.length === 0) continue;
    if (query.model != null && !cards.some((c) => c.model.id === query.model)) continue;
    const addrs: Multiaddr[] = [];
    for (const text of provider.addrs) {
      try {
        addrs.push(multiaddr(text));
      } catch {
        // unparseable address: skip it
      }
    }
    let key: VerifiedKeyRecord | undefined;
    if (provider.keyRecords != null && provider.keyRecords.length > 0) {
      try {
        key = await selectKeyRecord(provider.keyRecords, provider.peerId, now);
      } catch {
        // None verifies: the client asks the node itself.
      }
    }
    out.push({ peerId: provider.peerId, addrs, cards, ...(key != null ? { key } : {}) });
  }
  return out;
}

/** Addresses ending in `/p2p/<peerId>`, so a dial authenticates the right peer. */
function withPeer(addrs: readonly Multiaddr[], peerId: string): Multiaddr[] {
  return addrs.map((a) => {
    const last = a.getComponents().at(-1);
    return last?.name === 'p2p' && last.value === peerId ? a : a.encapsulate(`/p2p/${peerId}`);
  });
}

export interface DialProviderOptions extends AbortOptions {
  /** Attempts per WebRTC address (a dial can return the relayed circuit, or ICE can stall). @default 3 */
  attempts?: number;
  /** Time allowed for one attempt. @default 5000 ms */
  attemptTimeoutMs?: number;
}

/**
 * Dials a provider for inference: an existing direct connection, else its direct
 * addresses (TCP/WebSockets/WebRTC-direct, where this peer can use them), else WebRTC
 * signalled through its relay. Relayed circuits are limited (2 min, 128 KiB) and are only for signalling, so a
 * dial that comes back relayed — which a concurrent DHT dial can cause — is retried
 * until the WebRTC connection is up; so is an attempt whose ICE stalls.
 */
export async function dialProvider(
  peer: MeshPeer,
  provider: { peerId: string; addrs: readonly Multiaddr[] },
  peerIdOf: (id: string) => PeerId,
  options: DialProviderOptions = {},
): Promise<Connection> {
  const remote = peerIdOf(provider.peerId);
  const existing = peer.getConnections(remote).find((c) => c.status === 'open' && isDirect(c));
  if (existing != null) return existing;
  const addrs = withPeer(provider.addrs, provider.peerId);
  // TCP, WebSockets, WebRTC-direct: whichever this peer can dial (libp2p prefers TCP and
  // WebSockets; a browser can only use WebRTC-direct). Then WebRTC signalled via a relay.
  const direct = addrs.filter((a) => !Circuit.matches(a) && !WebRTC.matches(a));
  const webrtc = addrs.filter((a) => WebRTC.matches(a));
  const timeoutMs = options.attemptTimeoutMs ?? 5_000;
  const attemptSignal = (): AbortSignal =>
    options.signal != null
      ? AbortSignal.any([options.signal, AbortSignal.timeout(timeoutMs)])
      : AbortSignal.timeout(timeoutMs);
  const errors: string[] = [];
  if (direct.length > 0) {
    try {
      const conn = await peer.dial(direct, { signal: attemptSignal() });
      if (isDirect(conn)) return conn;
    } catch (err) {
      options.signal?.throwIfAborted();
      errors.push((err as Error).message);
    }
  }
  const attempts = options.attempts ?? 3;
  for (const addr of webrtc) {
    for (let attempt = 0; attempt < attempts; attempt++) {
      options.signal?.throwIfAborted();
      if (attempt > 0) await new Promise((r) => setTimeout(r, 100 * attempt));
      try {
        const conn = await peer.dial(addr, { signal: attemptSignal() });
        if (isDirect(conn)) return conn;
      } catch (err) {
        options.signal?.throwIfAborted();
        errors.push((err as Error).message);
      }
    }
  }
  throw new ProtocolError(
    `cannot reach ${provider.peerId} directly${errors.length > 0 ? `: ${errors.slice(-2).join('; ')}` : ''}`,
    'internal',
  );
}

/** A provider dial that has not connected in this long gets the next provider dialled beside it. */
export const HEDGE_DIAL_AFTER_MS = 2_000;

export interface DialFirstOptions<C> extends AbortOptions {
  /** @default {@link HEDGE_DIAL_AFTER_MS} */
  hedgeMs?: number;
  /** Each candidate whose dial failed, also after another one won. */
  onFailure?(candidate: C, err: unknown): void;
}

/**
 * Reaches the first of `candidates` that answers, the way Happy Eyeballs (RFC 8305)
 * races addresses: the best candidate is dialled at once, and the next one beside it
 * when the dials under way have gone `hedgeMs` without connecting, or as soon as one
 * fails. The first dial to succeed wins; the others go on in the background (a
 * connection they make stays for later requests). A node that froze or dropped off the
 * network stalls a dial until its timeout (a TCP connect succeeds in the kernel, the
 * handshake never answers); this way it costs the request `hedgeMs`, not that timeout.
 *
 * Rejects with an `AggregateError` of every failure when all fail, or with the signal's
 * reason when it aborts.
 */
export function dialFirst<C, R>(
  candidates: readonly C[],
  dial: (candidate: C) => Promise<R>,
  options: DialFirstOptions<C> = {},
): Promise<{ candidate: C; result: R }> {
  const hedgeMs = options.hedgeMs ?? HEDGE_DIAL_AFTER_MS;
  const { signal } = options;
  return new Promise((resolve, reject) => {
    const errors: unknown[] = [];
    let next = 0;
    let pending = 0;
    let done = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finish = (): void => {
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = (): void => {
      if (done) return;
      finish();
      reject(signal!.reason as Error);
    };
    const start = (): void => {
      clearTimeout(timer);
      if (done || next >= candidates.length) return;
      const candidate = candidates[next++]!;
      pending++;
      dial(candidate).then(
        (result) => {
          pending--;
          if (done) return;
          finish();
          resolve({ candidate, result });
        },
        (err: unknown) => {
          pending--;
          options.onFailure?.(candidate, err);
          if (done) return;
          errors.push(err);
          if (next < candidates.length) start();
          else if (pending === 0) {
            finish();
            reject(new AggregateError(errors, 'no provider could be reached'));
          }
        },
      );
      if (next < candidates.length) timer = setTimeout(start, hedgeMs);
    };
    if (signal?.aborted === true) {
      reject(signal.reason as Error);
      return;
    }
    if (candidates.length === 0) {
      reject(new AggregateError([], 'no provider to dial'));
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    start();
  });
}

/**
 * The providers of `pool` that can be reached, in turn, each the winner of a
 * {@link dialFirst} among those not tried yet: a caller that cannot use the one it got
 * (it failed before answering) takes the next. Every failed dial goes to `onFailure`,
 * late ones included. Ends when none is left; throws the signal's reason on abort.
 */
export async function* reachInTurn<C extends { peerId: string }, R>(
  pool: readonly C[],
  reach: (candidate: C) => Promise<R>,
  options: DialFirstOptions<C> = {},
): AsyncGenerator<{ candidate: C; result: R }> {
  const tried = new Set<string>();
  for (;;) {
    const left = pool.filter((p) => !tried.has(p.peerId));
    if (left.length === 0) return;
    let reached: { candidate: C; result: R };
    try {
      reached = await dialFirst(left, reach, {
        ...options,
        onFailure: (candidate, err) => {
          tried.add(candidate.peerId);
          options.onFailure?.(candidate, err);
        },
      });
    } catch {
      options.signal?.throwIfAborted();
      return;
    }
    tried.add(reached.candidate.peerId);
    yield reached;
  }
}

/**
 * Orders providers for a request: least loaded first (free sequences from the signed
 * card, then queue length), measured round-trip time breaking ties. Providers that
 * failed lately (`lastFailure`, see {@link RecentFailures}) come after all the others,
 * the one that failed longest ago first.
 */
export function rankProviders<T extends { peerId: string; load: Load }>(
  providers: readonly T[],
  rttMs: (peerId: string) => number | undefined = () => undefined,
  lastFailure: (peerId: string) => number | undefined = () => undefined,
): T[] {
  const score = (p: T): number => {
    const free = p.load.maxConcurrency - p.load.active;
    const busy = free > 0 ? 0 : 1 + p.load.queued / p.load.maxConcurrency;
    return busy * 10_000 + (rttMs(p.peerId) ?? 1_000) - free;
  };
  const failed = (p: T): number => lastFailure(p.peerId) ?? 0;
  return [...providers].sort((a, b) => failed(a) - failed(b) || score(a) - score(b));
}

/** How long a provider that failed is tried only after the others. */
export const FAILED_PROVIDER_LAST_MS = 60_000;
/**
 * A request its client gave up on after waiting this long for the first answer counts
 * as a failure of the node that held it ({@link RecentFailures.abandoned}).
 */
export const ABANDONED_AFTER_MS = 5_000;
/** Failures remembered at most (the oldest is forgotten first). */
const MAX_REMEMBERED_FAILURES = 1_024;

/**
 * Providers that failed a request lately: unreachable, unresponsive, gone mid-answer, or
 * holding a request without answering until its client gave up. A frozen or unplugged
 * node stays in directories until they notice, and trying it first again would cost
 * every request its dial or ping timeout; a node that answers pings but never its
 * requests (a wedged engine, or a malicious node) would hold every request it ranks
 * first for. For {@link FAILED_PROVIDER_LAST_MS} such a node is tried only when no other
 * provider is left. A success forgets the failure.
 */
export class RecentFailures {
  readonly #at = new Map<string, number>();
  readonly #forMs: number;

  constructor(init: { forMs?: number } = {}) {
    this.#forMs = init.forMs ?? FAILED_PROVIDER_LAST_MS;
  }

  failed(peerId: string): void {
    this.#at.delete(peerId);
    this.#at.set(peerId, Date.now());
    if (this.#at.size > MAX_REMEMBERED_FAILURES) this.#at.delete(this.#at.keys().next().value!);
  }

  succeeded(peerId: string): void {
    this.#at.delete(peerId);
  }

  /**
   * The client gave up on a request to `peerId` that had no answer yet, sent at `sentAt`
   * (ms since the epoch): a failure of the node when the client had waited
   * {@link ABANDONED_AFTER_MS} or more (its retry should go elsewhere), none after a
   * quicker change of mind. Returns whether it counted.
   */
  abandoned(peerId: string, sentAt: number): boolean {
    if (Date.now() - sentAt < ABANDONED_AFTER_MS) return false;
    this.failed(peerId);
    return true;
  }

  /**
   * When `peerId` last failed, while that is recent; else undefined. Pass as
   * `rankProviders`' third argument.
   */
  readonly lastFailure = (peerId: string): number | undefined => {
    const at = this.#at.get(peerId);
    if (at == null) return undefined;
    if (Date.now() - at < this.#forMs) return at;
    this.#at.delete(peerId);
    return undefined;
  };
}
