/**
 * The browser's mesh client: the real {@link MeshClient} behind the chat UI.
 *
 * Connection flow: dial the bootstrap(s) over WebSockets → `online`. When the last
 * connection to the bootstrap closes → `reconnecting`, re-dialled with a doubling
 * backoff (0.5 s … 8 s, jittered); after {@link OFFLINE_AFTER_MS} of failures →
 * `offline`, still re-dialled every 30 s, and at once when the browser comes back
 * online. Nothing here needs a page reload.
 *
 * Chat flow: the directory on the bootstrap names the model's providers (signed cards and
 * key records, verified against each provider's PeerId; the page's `/bootstrap.json`
 * brings a snapshot of it, so this needs no round trip at start-up) → rank them (load,
 * then round-trip time) → dial the best one *directly* (WebRTC-direct to its UDP port when
 * it has one, else WebRTC signalled through the relay; a dial that comes back as the
 * relay's limited circuit is retried, and a relayed connection is never used for a
 * prompt) → take its key record (relayed by the directory, or fetched from the node),
 * checked against the PeerId that connection authenticated → seal the request to that
 * key (HPKE) → stream the opened chunks.
 * A node that fails before answering is skipped; one that drops mid-answer produces a
 * `retry` and the next provider answers from the start. `prepare(model)` runs the same
 * steps up to the key record ahead of time, so a prompt finds its connection ready.
 *
 * Nothing here logs prompts, answers or keys: only peer ids, counts and error names.
 */
import { logger } from '@libp2p/logger';
import { peerIdFromString } from '@libp2p/peer-id';
import type { Connection, PeerId } from '@libp2p/interface';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import {
  Circuit,
  WebRTC,
  WebRTCDirect,
  WebSockets,
  WebSocketsSecure,
} from '@multiformats/multiaddr-matcher';
import {
  dialFirst,
  dialProvider,
  fetchNodeInfo,
  isDirect,
  lookupDirectory,
  rankProviders,
  RecentFailures,
  runInference,
  StandbyStreams,
  transportOf,
  verifyProviders,
  type VerifiedNodeInfo,
  type VerifiedProvider,
} from '../../../../protocol/mesh.js';
import { RemoteError } from '../../../../protocol/errors.js';
import { SealAhead } from '../../../../protocol/inference.js';
import { fingerprintOf } from '../../../../protocol/hpke.js';
import { untilAborted } from '../../../../protocol/timers.js';
import { DirectoryProviders, type ModelCard } from '../../../../protocol/messages.js';
import { BootstrapError, MeshOfflineError } from './errors.js';
import { createBrowserLibp2p, type BrowserLibp2p } from './libp2p.js';
import { mark } from '../perf.js';
import type {
  ChatRequest,
  ChatUpdate,
  ConnectionState,
  MeshClient,
  MeshModel,
  NodeInfo,
} from './types.js';
import {
  aggregateModels,
  backoffMs,
  chatBody,
  classifyNodeError,
  readChunk,
  readResult,
  transportLabel,
  type BackoffPolicy,
  type ChunkContent,
} from './updates.js';

const log = logger('tokenplace:browser:mesh');

/** One dial of a bootstrap. */
export const BOOTSTRAP_DIAL_TIMEOUT_MS = 10_000;
/** Failing to reach any bootstrap for this long turns `reconnecting` into `offline`. */
export const OFFLINE_AFTER_MS = 60_000;
/** A directory lookup. */
export const DIRECTORY_TIMEOUT_MS = 10_000;
/** Reaching a provider directly (WebRTC set-up included). */
export const PROVIDER_DIAL_TIMEOUT_MS = 15_000;
/** Fetching a provider's key record and cards. */
export const NODE_INFO_TIMEOUT_MS = 10_000;
/**
 * At start-up, how long the first relay dial waits at most for the first node's direct
 * dial and the first answer (see {@link LibP2PMeshClientInit.prepare}).
 */
export const RELAY_HOLD_MS = 2_000;
/** Providers tried for one answer. */
export const MAX_PROVIDER_ATTEMPTS = 3;
/** A directory answer is reused, when the bootstrap is unreachable, for this long. */
const PROVIDER_CACHE_MS = 5 * 60_000;
/** A directory answer this recent is used for a prompt without asking again. */
const PROVIDERS_FRESH_MS = 15_000;
/** A node's verified key record and load are reused on the same connection for this long. */
const INFO_CACHE_MS = 10_000;
/** A node dialled with the directory's key record is asked for its own info this much later. */
const INFO_REFRESH_DELAY_MS = 2_000;

export interface LibP2PMeshClientInit {
  /** Bootstrap multiaddrs, each ending in `/p2p/<peerId>`. */
  bootstrap: readonly string[];
  /** See {@link createBrowserLibp2p}. @default false */
  allowPrivateAddresses?: boolean;
  /** The directory snapshot from `/bootstrap.json` (`providers`), unchecked. */
  directory?: unknown;
  /** The reconnect schedule (tests shorten it). */
  backoff?: BackoffPolicy;
  /** @default OFFLINE_AFTER_MS */
  offlineAfterMs?: number;
  /**
   * The model the page will start on, from the models the snapshot lists: its best node is
   * dialled at once, and when that node can be reached without the relay (WebRTC-direct),
   * the relay dial waits for that dial to settle (and, if a prompt went out meanwhile, for
   * its first token), `relayHoldMs` at most. The first answer needs the node, not the
   * relay, and the relay's handshake (Noise in JavaScript) would otherwise take the
   * page's one main thread while the page is busiest.
   */
  prepare?: (known: MeshModel[]) => string | null;
  /** @default RELAY_HOLD_MS */
  relayHoldMs?: number;
  signal?: AbortSignal;
}

interface Bootstrap {
  text: string;
  addr: Multiaddr;
  peerId: PeerId;
}

interface KnownProvider extends VerifiedProvider {
  seenAt: number;
}

interface Candidate extends KnownProvider {
  card: ModelCard;
  load: ModelCard['load'];
}

/** Parses bootstrap multiaddrs; each must name its peer (`/p2p/<peerId>`). */
export function parseBootstraps(addrs: readonly string[]): Bootstrap[] {
  if (addrs.length === 0) throw new BootstrapError('No bootstrap multiaddr to dial.');
  return addrs.map((text) => {
    let addr: Multiaddr;
    try {
      addr = multiaddr(text);
    } catch {
      throw new BootstrapError(`"${text}" is not a multiaddr.`);
    }
    const id = addr.getComponents().findLast((c) => c.name === 'p2p')?.value;
    if (id == null) throw new BootstrapError(`${text} must end in /p2p/<peer id>.`);
    try {
      return { text, addr, peerId: peerIdFromString(id) };
    } catch {
      throw new BootstrapError(`${text} names an invalid peer id.`);
    }
  });
}

/** Creates the libp2p peer and starts connecting in the background. */
export async function createLibP2PMeshClient(
  init: LibP2PMeshClientInit,
): Promise<LibP2PMeshClient> {
  const bootstraps = parseBootstraps(init.bootstrap);
  init.signal?.throwIfAborted();
  mark('client-loaded');
  const [libp2p, providers] = await Promise.all([
    createBrowserLibp2p({ allowPrivateAddresses: init.allowPrivateAddresses === true }),
    readDirectorySnapshot(init.directory),
  ]);
  mark('peer-started');
  if (init.signal?.aborted === true) {
    await libp2p.stop();
    init.signal.throwIfAborted();
  }
  const client = new LibP2PMeshClient(libp2p, bootstraps, init, providers);
  client.start(init.prepare?.(client.knownModels()) ?? undefined);
  return client;
}

/**
 * The providers of a bootstrap's directory snapshot whose cards verify against their
 * PeerIds (key records too, where present). A snapshot that does not parse is ignored:
 * the client then asks the directory once it reaches the relay, as without one.
 */
export async function readDirectorySnapshot(value: unknown): Promise<VerifiedProvider[]> {
  if (value === undefined) return [];
  const parsed = DirectoryProviders.safeParse(value);
  if (!parsed.success) {
    log('ignored an invalid directory snapshot');
    return [];
  }
  return verifyProviders(parsed.data);
}

export class LibP2PMeshClient implements MeshClient {
  readonly libp2p: BrowserLibp2p;
  readonly #bootstraps: Bootstrap[];
  readonly #backoff: BackoffPolicy;
  readonly #offlineAfterMs: number;
  readonly #relayHoldMs: number;
  readonly #closing = new AbortController();
  readonly #listeners = new Set<(state: ConnectionState) => void>();
  readonly #providers = new Map<string, KnownProvider>();
  readonly #rtt = new Map<string, number>();
  /** Inference streams opened ahead of time, so Send does not wait for a negotiation round trip. */
  readonly #streams = new StandbyStreams();
  /** Request seals prepared ahead of time, per node key. */
  readonly #seals = new SealAhead();
  /** Providers that failed lately: tried after the others for a while. */
  readonly #failures = new RecentFailures();
  /** Verified node info, reused briefly on the same connection. */
  readonly #info = new Map<string, { info: VerifiedNodeInfo; at: number; connectionId: string }>();
  /** Connection attempts in flight, by PeerId. */
  readonly #connecting = new Map<
    string,
    Promise<{ connection: Connection; info: VerifiedNodeInfo }>
  >();
  #state: ConnectionState;
  /** Whether a chat has started. */
  #chatted = false;
  /** Resolves when the first chat has its first token, or ended. */
  readonly #firstAnswer: Promise<void>;
  #firstAnswerIn!: () => void;
  /** Cuts the reconnect backoff short (the browser came back online, or close()). */
  #wake: (() => void) | null = null;
  #loop: Promise<void> | null = null;

  constructor(
    libp2p: BrowserLibp2p,
    bootstraps: Bootstrap[],
    init: LibP2PMeshClientInit,
    /** Verified providers known at start (the bootstrap's directory snapshot). */
    providers: readonly VerifiedProvider[] = [],
  ) {
    this.libp2p = libp2p;
    this.#bootstraps = bootstraps;
    this.#backoff = init.backoff ?? {};
    this.#offlineAfterMs = init.offlineAfterMs ?? OFFLINE_AFTER_MS;
    this.#relayHoldMs = init.relayHoldMs ?? RELAY_HOLD_MS;
    this.#state = { kind: 'connecting', bootstrap: bootstraps[0]!.text };
    this.#firstAnswer = new Promise((resolve) => (this.#firstAnswerIn = resolve));
    const now = Date.now();
    for (const p of providers) this.#providers.set(p.peerId, { ...p, seenAt: now });
  }

  get state(): ConnectionState {
    return this.#state;
  }

  subscribe(listener: (state: ConnectionState) => void): () => void {
    this.#listeners.add(listener);
    listener(this.#state);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Starts the connection loop (once); with `firstModel`, dials that model's best node
   * first (see {@link LibP2PMeshClientInit.prepare}).
   */
  start(firstModel?: string): void {
    if (this.#loop != null) return;
    this.libp2p.addEventListener('peer:connect', this.#onPeersChanged);
    this.libp2p.addEventListener('peer:disconnect', this.#onPeersChanged);
    globalThis.addEventListener?.('online', this.#onBrowserOnline);
    const first = firstModel == null ? null : this.#prepare(firstModel);
    // A prompt sent while that node was dialled: the relay waits for its answer to start.
    const hold =
      first?.direct === true
        ? first.dial.then(() => (this.#chatted ? this.#firstAnswer : undefined))
        : null;
    this.#loop = this.#maintain(hold).catch((err: unknown) => {
      log.error('connection loop ended: %s', (err as Error).name);
    });
  }

  async close(): Promise<void> {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort(new Error('mesh client closed'));
    this.#wake?.();
    globalThis.removeEventListener?.('online', this.#onBrowserOnline);
    this.libp2p.removeEventListener('peer:connect', this.#onPeersChanged);
    this.libp2p.removeEventListener('peer:disconnect', this.#onPeersChanged);
    await this.libp2p.stop();
    await this.#loop;
    this.#listeners.clear();
  }

  // ------------------------------------------------------------------ connection state

  #setState(state: ConnectionState): void {
    if (this.#closing.signal.aborted) return;
    const previous = this.#state;
    if (JSON.stringify(previous) === JSON.stringify(state)) return;
    this.#state = state;
    if (previous.kind !== state.kind) log('connection %s → %s', previous.kind, state.kind);
    for (const listener of this.#listeners) {
      try {
        listener(state);
      } catch (err) {
        log.error('state listener threw: %s', (err as Error).name);
      }
    }
  }

  readonly #onPeersChanged = (): void => {
    const current = this.#state;
    if (current.kind === 'online') {
      this.#setState({ ...current, peers: this.libp2p.getPeers().length });
    }
  };

  readonly #onBrowserOnline = (): void => {
    this.#wake?.();
  };

  /** The bootstrap we hold an open connection to, if any. */
  #connectedBootstrap(): Bootstrap | undefined {
    return this.#bootstraps.find((b) =>
      this.libp2p.getConnections(b.peerId).some((c) => c.status === 'open' && c.limits == null),
    );
  }

  /** Keeps a bootstrap connection; the first dial waits for `hold` (a node's dial) a moment. */
  async #maintain(hold: Promise<void> | null): Promise<void> {
    const closing = this.#closing.signal;
    if (hold != null) {
      await Promise.race([hold, this.#sleep(this.#relayHoldMs)]);
      this.#wake?.(); // whichever came first, the hold's timer is done
    }
    let attempt = 0;
    let failingSince: number | null = null;
    let lastError: string;
    while (!closing.aborted) {
      const connected = this.#connectedBootstrap();
      if (connected != null) {
        this.#setState({
          kind: 'online',
          bootstrap: connected.text,
          peers: this.libp2p.getPeers().length,
        });
        await this.#untilDisconnected(connected);
        if (closing.aborted) return;
        log('lost the connection to bootstrap %p', connected.peerId);
        // Count the outage from here: the first re-dial goes out at once.
        lastError = 'the connection to the relay closed';
        attempt = 1;
        failingSince = Date.now();
        this.#setState({ kind: 'reconnecting', bootstrap: connected.text, attempt, lastError });
      }
      try {
        await this.#dialAnyBootstrap(closing);
        continue;
      } catch (err) {
        if (closing.aborted) return;
        lastError = describe(err);
      }
      attempt += 1;
      failingSince ??= Date.now();
      const browserOffline = globalThis.navigator?.onLine === false;
      const offline = browserOffline || Date.now() - failingSince >= this.#offlineAfterMs;
      const bootstrap = this.#bootstraps[0]!.text;
      if (offline) {
        this.#setState({
          kind: 'offline',
          bootstrap,
          reason: browserOffline
            ? 'this device is offline'
            : `cannot reach the relay: ${lastError}`,
        });
      } else {
        this.#setState({ kind: 'reconnecting', bootstrap, attempt, lastError });
      }
      await this.#sleep(backoffMs(attempt, offline, this.#backoff));
    }
  }

  async #dialAnyBootstrap(closing: AbortSignal): Promise<void> {
    const errors: string[] = [];
    for (const bootstrap of this.#bootstraps) {
      try {
        const connection = await this.libp2p.dial(bootstrap.addr, {
          signal: AbortSignal.any([closing, AbortSignal.timeout(BOOTSTRAP_DIAL_TIMEOUT_MS)]),
        });
        log('connected to bootstrap %p', connection.remotePeer);
        mark('relay-connected');
        return;
      } catch (err) {
        if (closing.aborted) throw err;
        errors.push(describe(err));
      }
    }
    throw new Error(errors.at(-1) ?? 'no bootstrap to dial');
  }

  /** Resolves once no open connection to `bootstrap` is left (or the client closes). */
  #untilDisconnected(bootstrap: Bootstrap): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.#closing.signal.aborted) return done();
        const open = this.libp2p
          .getConnections(bootstrap.peerId)
          .some((c) => c.status === 'open' && c.limits == null);
        if (!open) done();
      };
      const done = (): void => {
        this.libp2p.removeEventListener('connection:close', check);
        this.#closing.signal.removeEventListener('abort', done);
        resolve();
      };
      this.libp2p.addEventListener('connection:close', check);
      this.#closing.signal.addEventListener('abort', done, { once: true });
      check();
    });
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(finish, ms);
      function finish(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = () => {
        this.#wake = null;
        finish();
      };
    });
  }

  // ------------------------------------------------------------------ models

  knownModels(): MeshModel[] {
    const now = Date.now();
    const fresh = [...this.#providers.values()].filter(
      (p) => now - p.seenAt < PROVIDERS_FRESH_MS && p.cards.some((c) => c.expiresAt > now),
    );
    return aggregateModels(fresh);
  }

  async listModels(options: { signal?: AbortSignal } = {}): Promise<MeshModel[]> {
    const providers = await this.#lookup(undefined, options.signal);
    mark('models-listed');
    return aggregateModels(providers);
  }

  /**
   * Providers from the connected bootstrap's directory, plus those this page is still
   * directly connected to (their cards verified earlier and not expired): a bootstrap
   * that just restarted has not heard from every node again yet, but the nodes are there.
   */
  async #lookup(model: string | undefined, signal?: AbortSignal): Promise<KnownProvider[]> {
    const bootstrap = this.#connectedBootstrap();
    const now = Date.now();
    const found = new Map<string, KnownProvider>();
    if (bootstrap != null) {
      const providers = await lookupDirectory(
        this.libp2p,
        bootstrap.peerId,
        model != null ? { model } : {},
        { signal: this.#signal(signal, DIRECTORY_TIMEOUT_MS) },
      );
      for (const p of providers) {
        const known = { ...p, seenAt: now };
        this.#providers.set(p.peerId, known);
        found.set(p.peerId, known);
      }
    } else if (this.#providers.size === 0) {
      throw new MeshOfflineError('Not connected to the mesh: reconnecting to the relay…');
    }
    for (const [id, p] of this.#providers) {
      if (now - p.seenAt > PROVIDER_CACHE_MS) {
        this.#providers.delete(id);
        continue;
      }
      if (found.has(id)) continue;
      const fresh = p.cards.filter(
        (c) => c.expiresAt > now && (model == null || c.model.id === model),
      );
      if (fresh.length === 0) continue;
      // Without a bootstrap, remembered providers are all there is; with one, only those
      // we can still reach directly.
      const reachable =
        bootstrap == null ||
        this.libp2p
          .getConnections(peerIdFromString(id))
          .some((c) => c.status === 'open' && isDirect(c));
      if (reachable) found.set(id, { ...p, cards: fresh });
    }
    return [...found.values()];
  }

  #candidates(
    providers: readonly KnownProvider[],
    model: string,
    exclude: ReadonlySet<string>,
  ): Candidate[] {
    const candidates: Candidate[] = [];
    for (const p of providers) {
      if (exclude.has(p.peerId)) continue;
      const card = p.cards.find((c) => c.model.id === model);
      if (card != null) candidates.push({ ...p, card, load: card.load });
    }
    return rankProviders(candidates, (id) => this.#rtt.get(id), this.#failures.lastFailure);
  }

  /** Providers of `model` from a lookup less than {@link PROVIDERS_FRESH_MS} ago. */
  #freshProviders(model: string): KnownProvider[] {
    const now = Date.now();
    return [...this.#providers.values()].filter(
      (p) =>
        now - p.seenAt < PROVIDERS_FRESH_MS &&
        p.cards.some((c) => c.model.id === model && c.expiresAt > now),
    );
  }

  // ------------------------------------------------------------------ chat

  /**
   * Connects to the best provider of `model` ahead of a prompt (WebRTC set-up, key
   * record), so the first answer does not wait for it. Safe to call often: it does
   * nothing while the connection is ready, or while offline with no fresh directory
   * answer (the bootstrap's snapshot counts: the page dials a node while it reaches the
   * relay), and never throws.
   */
  prepare(model: string, options: { signal?: AbortSignal } = {}): void {
    this.#prepare(model, options.signal);
  }

  /**
   * {@link prepare}: `dial` settles (never rejects) once the connection is ready or failed;
   * `direct` when the provider came from a fresh directory answer and has an address this
   * page can dial without the relay. `null` when there is nothing to do.
   */
  #prepare(model: string, signal?: AbortSignal): { dial: Promise<void>; direct: boolean } | null {
    if (this.#closing.signal.aborted) return null;
    const fresh = this.#freshProviders(model);
    if (this.#state.kind !== 'online' && fresh.length === 0) return null;
    // From a fresh directory answer, the provider is known now; else ask the directory.
    const known = fresh.length > 0 ? this.#candidates(fresh, model, new Set())[0] : undefined;
    const dial = (async () => {
      const best =
        fresh.length > 0
          ? known
          : this.#candidates(await this.#lookup(model, signal), model, new Set())[0];
      if (best == null) return;
      await this.#connect(best, model, signal ?? this.#closing.signal);
    })().catch((err: unknown) => {
      log('preparing %s failed: %s', model, (err as Error).name);
    });
    const direct = known?.addrs.some(dialableDirectly) === true;
    return { dial, direct };
  }

  avoid(peerId: string): void {
    this.#failures.failed(peerId);
  }

  async *chat(request: ChatRequest, options: { signal: AbortSignal }): AsyncGenerator<ChatUpdate> {
    const { signal } = options;
    this.#chatted = true;
    try {
      yield* this.#chat(request, signal);
    } catch (err) {
      if (signal.aborted || this.#closing.signal.aborted) {
        yield { type: 'done', finishReason: 'aborted' };
        return;
      }
      log.error('chat failed: %s', (err as Error).name);
      yield { type: 'error', kind: 'other', message: describe(err) };
    } finally {
      this.#firstAnswerIn();
    }
  }

  async *#chat(request: ChatRequest, signal: AbortSignal): AsyncGenerator<ChatUpdate> {
    if (request.model.trim() === '' || request.messages.length === 0) {
      yield {
        type: 'error',
        kind: 'bad-request',
        message: 'Pick a model and write a prompt first.',
      };
      return;
    }
    const { model } = request;
    // The directory answered a moment ago (the model list, or prepare()): use that, and
    // ask again only when its providers run out.
    let providers = this.#freshProviders(model);
    let looked = false;
    const lookup = async (): Promise<void> => {
      looked = true;
      providers = await this.#lookup(model, signal);
    };
    if (providers.length === 0) {
      try {
        await lookup();
      } catch (err) {
        signal.throwIfAborted();
        const offline = this.#connectedBootstrap() == null;
        yield {
          type: 'error',
          kind: offline ? 'offline' : 'other',
          message: offline
            ? 'Not connected to the mesh. Sending works again once the relay is back.'
            : `Could not ask the directory who serves ${model}: ${describe(err)}`,
        };
        return;
      }
    }
    const startedAt = Date.now();
    const tried = new Set<string>();
    /** Providers to dial once more, on a fresh connection, when no other is left. */
    const again: Candidate[] = [];
    const dialledAgain = new Set<string>();
    const next = async (): Promise<Candidate | undefined> => {
      let candidate = this.#candidates(providers, model, tried)[0];
      if (candidate == null && !looked) {
        try {
          await lookup();
        } catch {
          signal.throwIfAborted();
        }
        candidate = this.#candidates(providers, model, tried)[0];
      }
      candidate ??= again.shift();
      return candidate;
    };

    const body = chatBody(request);
    const failures: string[] = [];
    let droppedMidAnswer = false;
    let provider = await next();
    if (provider == null) {
      yield { type: 'error', kind: 'no-nodes', message: `No node serves ${model} right now.` };
      return;
    }
    while (provider != null && tried.size < MAX_PROVIDER_ATTEMPTS) {
      tried.add(provider.peerId);
      signal.throwIfAborted();

      // The next providers, dialled beside this one if its dial stalls (a frozen node).
      const backups = this.#candidates(providers, model, tried).slice(
        0,
        MAX_PROVIDER_ATTEMPTS - tried.size,
      );
      let connection: Connection;
      let info: VerifiedNodeInfo;
      try {
        const reached = await dialFirst(
          [provider, ...backups],
          (c) => this.#connect(c, model, signal),
          {
            signal,
            onFailure: (c, err) => {
              if (signal.aborted) return;
              log('provider %s unreachable: %s', c.peerId, (err as Error).name);
              this.#failures.failed(c.peerId);
              tried.add(c.peerId);
              failures.push(describe(err));
            },
          },
        );
        ({ connection, info } = reached.result);
        provider = reached.candidate;
        tried.add(provider.peerId);
      } catch {
        signal.throwIfAborted();
        provider = await next();
        continue;
      }
      yield { type: 'node', node: nodeInfoOf(connection, info, provider.card) };

      const outcome = yield* this.#answer(connection, info, body, signal);
      if (outcome.kind === 'finished') {
        this.#failures.succeeded(provider.peerId);
        return;
      }
      this.#info.delete(provider.peerId);
      if (outcome.kind === 'dropped' || (outcome.kind === 'failed-before-answer' && outcome.lost)) {
        this.#failures.failed(provider.peerId);
      }
      if (outcome.kind === 'stale-key' && provider.key != null) {
        // The directory relayed a key the node has since rotated out: ask the node.
        const { key: _stale, ...rest } = provider;
        provider = rest;
        const known = this.#providers.get(provider.peerId);
        if (known != null) {
          const { key: _old, ...fresh } = known;
          this.#providers.set(provider.peerId, fresh);
        }
        tried.delete(provider.peerId);
        continue;
      }
      if (
        outcome.kind === 'failed-before-answer' &&
        outcome.lost === true &&
        connection.timeline.open < startedAt &&
        !dialledAgain.has(provider.peerId)
      ) {
        // The connection was up before this prompt and lost it before any answer: a node
        // that restarted or crashed leaves its WebRTC connection looking open until the
        // browser notices (~6 s). A fresh connection may reach it again.
        log('provider %s failed on a connection made earlier: dialling it again', provider.peerId);
        connection.abort(new Error('it failed a request before answering'));
        dialledAgain.add(provider.peerId);
        again.push(provider);
      }
      failures.push(outcome.reason);
      provider = await next();
      if (outcome.kind !== 'dropped') continue;

      // The node went away mid-answer: the next provider starts over.
      droppedMidAnswer = true;
      if (provider == null || tried.size >= MAX_PROVIDER_ATTEMPTS) break;
      yield { type: 'retry', reason: outcome.reason };
    }
    signal.throwIfAborted();
    yield {
      type: 'error',
      kind: 'node-failed',
      message: droppedMidAnswer
        ? `The node answering went away mid-answer and no other node of ${model} could take over (${failures.at(-1) ?? 'unknown error'}).`
        : `No node serving ${model} could answer (${failures.at(-1) ?? 'unknown error'}).`,
    };
  }

  /**
   * A direct connection to `provider` and its verified info. Concurrent callers (a
   * prompt sent while prepare() is still dialling) share one attempt; the verified info
   * is reused for a few seconds while the connection stays up.
   */
  async #connect(
    provider: Candidate,
    model: string,
    signal: AbortSignal,
  ): Promise<{ connection: Connection; info: VerifiedNodeInfo }> {
    let pending = this.#connecting.get(provider.peerId);
    if (pending == null) {
      pending = this.#establish(provider).finally(() => this.#connecting.delete(provider.peerId));
      this.#connecting.set(provider.peerId, pending);
    }
    const result = await untilAborted(pending, signal);
    if (!result.info.cards.some((c) => c.model.id === model)) {
      throw new Error(`the node no longer serves ${model}`);
    }
    return result;
  }

  async #establish(
    provider: Candidate,
  ): Promise<{ connection: Connection; info: VerifiedNodeInfo }> {
    mark('node-dial');
    const connection = await dialProvider(this.libp2p, provider, peerIdFromString, {
      signal: this.#signal(undefined, PROVIDER_DIAL_TIMEOUT_MS),
    });
    mark('node-connected');
    // dialProvider only returns direct connections; a prompt never crosses a relay.
    if (!isDirect(connection)) throw new Error('only a relayed connection to the node');
    const now = Date.now();
    // An inference stream opened now, while the page still prepares its request.
    this.#streams.prime(connection);
    const cached = this.#info.get(provider.peerId);
    if (
      cached != null &&
      cached.connectionId === connection.id &&
      now - cached.at < INFO_CACHE_MS &&
      cached.info.key.notAfter > now + INFO_CACHE_MS
    ) {
      return { connection, info: cached.info };
    }
    // The directory relayed the node's signed key record: it verified against the
    // provider's PeerId, which is the PeerId this connection authenticated, so the
    // request can be sealed at once. The node's live info follows in the background.
    const relayed = provider.key;
    if (
      relayed != null &&
      relayed.peerId === connection.remotePeer.toString() &&
      relayed.notAfter > now + INFO_CACHE_MS
    ) {
      mark('node-verified');
      this.#seals.warm(relayed);
      this.#refreshInfoLater(provider.peerId, connection);
      return {
        connection,
        info: { peerId: relayed.peerId, key: relayed, cards: provider.cards, load: provider.load },
      };
    }
    const info = await fetchNodeInfo(connection, {
      signal: this.#signal(undefined, NODE_INFO_TIMEOUT_MS),
    });
    this.#info.set(provider.peerId, { info, at: Date.now(), connectionId: connection.id });
    this.#seals.warm(info.key);
    mark('node-verified');
    if (!this.#rtt.has(info.peerId)) {
      this.libp2p.services.ping
        .ping(connection.remotePeer, { signal: AbortSignal.timeout(2_000) })
        .then((ms) => this.#rtt.set(info.peerId, ms))
        .catch(() => {});
    }
    return { connection, info };
  }

  /**
   * Fetches a node's own info on `connection` a little later (out of the way of the first
   * answer), for the live load and the node's current key.
   */
  #refreshInfoLater(peerId: string, connection: Connection): void {
    const timer = setTimeout(() => {
      this.#closing.signal.removeEventListener('abort', cancel);
      if (connection.status !== 'open' || this.#closing.signal.aborted) return;
      fetchNodeInfo(connection, { signal: this.#signal(undefined, NODE_INFO_TIMEOUT_MS) })
        .then((info) => {
          this.#info.set(peerId, { info, at: Date.now(), connectionId: connection.id });
        })
        .catch((err: unknown) => {
          log('refreshing the info of %s failed: %s', peerId, (err as Error).name);
        });
    }, INFO_REFRESH_DELAY_MS);
    const cancel = (): void => clearTimeout(timer);
    this.#closing.signal.addEventListener('abort', cancel, { once: true });
  }

  /** Streams one answer from one node; says how it ended. */
  async *#answer(
    connection: Connection,
    info: VerifiedNodeInfo,
    body: Record<string, unknown>,
    signal: AbortSignal,
  ): AsyncGenerator<
    ChatUpdate,
    | { kind: 'finished' }
    /** `lost`: the stream failed, not the node (no answer from it at all). */
    | { kind: 'failed-before-answer'; reason: string; lost?: true }
    | { kind: 'stale-key'; reason: string }
    | { kind: 'dropped'; reason: string }
  > {
    let answered = false;
    const sentAt = Date.now();
    let finishReason: ChunkContent['finishReason'] = null;
    let usage: ChunkContent['usage'] = null;
    const take = (content: ChunkContent): string => {
      finishReason = content.finishReason ?? finishReason;
      usage = content.usage ?? usage;
      return content.text;
    };
    try {
      mark('request-sent');
      const events = runInference(
        connection,
        info.key,
        { endpoint: 'chat.completions', body },
        {
          signal: AbortSignal.any([signal, this.#closing.signal]),
          streams: this.#streams,
          seals: this.#seals,
        },
      );
      for await (const event of events) {
        switch (event.type) {
          case 'chunk':
          case 'result': {
            const text = take(
              event.type === 'chunk' ? readChunk(event.data) : readResult(event.data),
            );
            if (text !== '') {
              if (!answered) {
                mark('first-token');
                this.#firstAnswerIn();
              }
              answered = true;
              yield { type: 'token', text };
            }
            if (event.type === 'result') {
              yield done(finishReason, usage);
              return { kind: 'finished' };
            }
            break;
          }
          case 'done':
            yield done(finishReason, usage);
            return { kind: 'finished' };
          case 'error': {
            const reason = `the node answered ${event.status}: ${event.error.message}`;
            const verdict = classifyNodeError(event.status);
            if (verdict.action === 'report') {
              yield { type: 'error', kind: verdict.kind, message: event.error.message };
              return { kind: 'finished' };
            }
            return answered
              ? { kind: 'dropped', reason }
              : { kind: 'failed-before-answer', reason };
          }
        }
      }
      return {
        kind: answered ? 'dropped' : 'failed-before-answer',
        reason: 'the answer ended early',
      };
    } catch (err) {
      if (signal.aborted && !answered && this.#failures.abandoned(info.peerId, sentAt)) {
        // Stopped after a long wait with nothing from the node: Regenerate asks another.
        log('provider %s held the request until it was stopped', info.peerId);
      }
      signal.throwIfAborted();
      this.#closing.signal.throwIfAborted();
      log(
        'provider %s failed %s: %s',
        info.peerId,
        answered ? 'mid-answer' : 'before answering',
        (err as Error).name,
      );
      if (!answered && err instanceof RemoteError && err.code === 'unknown_key') {
        return { kind: 'stale-key', reason: 'the node no longer uses that key' };
      }
      const reason = `the node went away (${describe(err)})`;
      if (answered) return { kind: 'dropped', reason };
      return err instanceof RemoteError
        ? { kind: 'failed-before-answer', reason }
        : { kind: 'failed-before-answer', reason, lost: true };
    }
  }

  /** The caller's signal, the client's lifetime and a timeout, as one signal. */
  #signal(signal: AbortSignal | undefined, timeoutMs: number): AbortSignal {
    const signals = [this.#closing.signal, AbortSignal.timeout(timeoutMs)];
    if (signal != null) signals.push(signal);
    return AbortSignal.any(signals);
  }
}

function done(
  finishReason: ChunkContent['finishReason'],
  usage: ChunkContent['usage'],
): ChatUpdate {
  return {
    type: 'done',
    finishReason: finishReason ?? 'stop',
    ...(usage != null ? { usage } : {}),
  };
}

/** What the node panel shows: everything verified on this very connection. */
export function nodeInfoOf(
  connection: Connection,
  info: VerifiedNodeInfo,
  card: ModelCard,
): NodeInfo {
  return {
    peerId: info.peerId,
    fingerprint: fingerprintOf(info.key.publicKeyBytes),
    // fetchNodeInfo verified the key record's signature against connection.remotePeer,
    // the PeerId Noise authenticated; it throws otherwise, so reaching here means verified.
    verified: info.peerId === connection.remotePeer.toString(),
    transport: transportLabel(transportOf(connection)),
    ...(WebRTCDirect.matches(connection.remoteAddr)
      ? { route: 'WebRTC-direct' as const }
      : WebRTC.matches(connection.remoteAddr)
        ? { route: 'signalled through the relay' as const }
        : {}),
    hardware: { ...card.hardware },
    load: { ...info.load },
  };
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const inner = (err as Error & { errors?: unknown[] }).errors?.[0];
    if (err.name === 'AggregateError' && inner instanceof Error) return inner.message;
    return err.message !== '' ? err.message : err.name;
  }
  // A data channel fails with its error event (an RTCErrorEvent carries the error).
  if (typeof Event !== 'undefined' && err instanceof Event) {
    const inner = (err as Event & { error?: unknown }).error;
    return inner instanceof Error && inner.message !== '' ? inner.message : 'the connection failed';
  }
  return String(err);
}

/** An address this page can dial without a relay: WebRTC-direct or WebSockets. */
function dialableDirectly(addr: Multiaddr): boolean {
  if (Circuit.matches(addr)) return false;
  return WebRTCDirect.matches(addr) || WebSockets.matches(addr) || WebSocketsSecure.matches(addr);
}
