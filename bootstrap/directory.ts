/**
 * The directory: which inference nodes this bootstrap knows, with their own signed
 * model cards, served to light peers (browsers) on `/tokenplace/directory/1.0.0`.
 *
 * Protocol flow:
 * 1. client → bootstrap `ClientToDirectoryLookup` `{type:'lookup', model?, limit?}`
 * 2. bootstrap → client `DirectoryToClientProviders` `{type:'providers', providers}`,
 *    least loaded first, within `MAX_FRAME_BYTES`; then the bootstrap closes.
 *    A malformed or oversized lookup is answered with one error frame
 *    `{type:'error', code:'bad_message'|'too_large', message}` instead, and only that
 *    stream is affected.
 *
 * How it learns about nodes: when a connected peer's identify lists
 * `/tokenplace/info/1.0.0`, the directory asks it for its info, verifies every model card
 * against that peer's Noise-authenticated PeerId (a card that fails is dropped, never
 * served), and keeps the raw signed envelopes. It asks again every ~30 s (liveness and
 * load) and forgets a node when it disconnects or stops answering. A lookup for a model
 * also asks the DHT for providers attached to other bootstraps, dials them and caches
 * their info the same way.
 *
 * The directory relays cards unchanged: it can leave a node out, but it cannot forge
 * one, since clients verify every card against the node's PeerId.
 */
import { logger } from '@libp2p/logger';
import { peerIdFromString } from '@libp2p/peer-id';
import { lpStream } from '@libp2p/utils';
import type { AbortOptions, Connection, IdentifyResult, PeerId, Stream } from '@libp2p/interface';
import type { Multiaddr } from '@multiformats/multiaddr';
import { Circuit, WebRTC, WebRTCDirect } from '@multiformats/multiaddr-matcher';
import {
  ClientToDirectoryLookup,
  DIRECTORY_PROTOCOL,
  errorFrame,
  INFO_PROTOCOL,
  MAX_DIRECTORY_PROVIDERS,
  MAX_FRAME_BYTES,
  modelCid,
  ProtocolError,
  RECORD_CLOCK_TOLERANCE_MS,
  rankProviders,
  readMessage,
  requestNodeInfo,
  verifyKeyRecord,
  verifyModelCard,
  writeMessage,
  type DirectoryProvider,
  type Load,
  type ModelCard,
  type SignedEnvelope,
} from '../protocol/index.js';
import { passthroughMapper, removePrivateAddressesMapper } from '@libp2p/kad-dht';
import type { BootstrapLibp2p } from './libp2p.js';
import type { BootstrapMetrics } from './metrics.js';

const log = logger('tokenplace:bootstrap:directory');

/** How often a listed node is asked for fresh info. */
export const DIRECTORY_REFRESH_MS = 30_000;
/** How long one info exchange may take. */
export const INFO_TIMEOUT_MS = 5_000;
/** How long a lookup waits for the DHT. */
export const DHT_LOOKUP_TIMEOUT_MS = 3_000;
/** How long dialing a node found on the DHT may take. */
export const DHT_DIAL_TIMEOUT_MS = 5_000;
/** The protocol a node serves when it accepts WebRTC connections signalled through a relay. */
const WEBRTC_SIGNALING_PROTOCOL = '/webrtc-signaling/0.0.1';
/** How long a whole directory-protocol exchange may take. */
const LOOKUP_STREAM_TIMEOUT_MS = 10_000;
/** Most addresses and cards per provider (the schema's limits). */
const MAX_ADDRS = 16;
const MAX_CARDS = 16;
/** Nodes asked for info at once. */
const FETCH_CONCURRENCY = 8;
/** A model's DHT search runs at most this often in the background (ms). */
const DHT_SEARCH_INTERVAL_MS = 10_000;

/** A verified card with the exact envelope the node signed. */
export interface DirectoryCard {
  envelope: SignedEnvelope;
  card: ModelCard;
}

export interface DirectoryEntry {
  peerId: string;
  /** The node's key records that verified, raw (for encrypted-mode clients). */
  keyRecords: SignedEnvelope[];
  /** The node's model cards that verified, raw and parsed. */
  cards: DirectoryCard[];
  /** Live load, as the node reported it (unsigned). */
  load: Load;
  /** `connected`: attached to this bootstrap; `dht`: found on the DHT for a lookup. */
  source: 'connected' | 'dht';
  /** When the info was fetched (ms since the epoch). */
  fetchedAt: number;
}

/** A node joining or leaving the directory (for the CLI's log). */
export interface DirectoryChange {
  type: 'joined' | 'left';
  peerId: string;
  models: string[];
}

export interface DirectoryInit {
  libp2p: BootstrapLibp2p;
  /** Keep private and loopback addresses in answers. @default false */
  allowPrivateAddresses?: boolean;
  metrics?: BootstrapMetrics;
  /** @default DIRECTORY_REFRESH_MS */
  refreshIntervalMs?: number;
  /** @default INFO_TIMEOUT_MS */
  infoTimeoutMs?: number;
  /** @default DHT_LOOKUP_TIMEOUT_MS */
  dhtTimeoutMs?: number;
  onChange?(change: DirectoryChange): void;
}

/** Fetches a node's info over `connection` and keeps what verifies against its PeerId. */
async function fetchInfo(
  connection: Connection,
  source: DirectoryEntry['source'],
  options: AbortOptions,
): Promise<DirectoryEntry> {
  const info = await requestNodeInfo(connection, options);
  const remote = connection.remotePeer;
  const now = Date.now();
  const keyRecords: SignedEnvelope[] = [];
  for (const envelope of info.keyRecords) {
    try {
      await verifyKeyRecord(envelope, remote, now);
      keyRecords.push(envelope);
    } catch (err) {
      log('%p: dropped a key record (%s)', remote, (err as Error).name);
    }
  }
  const cards: DirectoryCard[] = [];
  for (const envelope of info.modelCards) {
    try {
      cards.push({ envelope, card: await verifyModelCard(envelope, remote, now) });
    } catch (err) {
      log('%p: dropped a model card (%s)', remote, (err as Error).name);
    }
  }
  return { peerId: remote.toString(), keyRecords, cards, load: info.load, source, fetchedAt: now };
}

function fresh(card: ModelCard, now: number): boolean {
  return card.expiresAt + RECORD_CLOCK_TOLERANCE_MS >= now;
}

/** Runs `tasks` with at most `limit` at once. */
async function runLimited(tasks: Array<() => Promise<void>>, limit: number): Promise<void> {
  const queue = [...tasks];
  const workers = Array.from({ length: Math.min(limit, queue.length) }, async () => {
    for (let task = queue.shift(); task != null; task = queue.shift()) await task();
  });
  await Promise.all(workers);
}

export class Directory {
  readonly #libp2p: BootstrapLibp2p;
  readonly #init: DirectoryInit;
  readonly #entries = new Map<string, DirectoryEntry>();
  readonly #inflight = new Map<string, Promise<DirectoryEntry | undefined>>();
  readonly #lastDhtSearch = new Map<string, number>();
  readonly #mapper: typeof passthroughMapper;
  #timer: ReturnType<typeof setInterval> | undefined;
  #stopping = new AbortController();
  #started = false;

  constructor(init: DirectoryInit) {
    this.#libp2p = init.libp2p;
    this.#init = init;
    this.#mapper =
      init.allowPrivateAddresses === true ? passthroughMapper : removePrivateAddressesMapper;
  }

  readonly #onIdentify = (event: CustomEvent<IdentifyResult>): void => {
    const { peerId, protocols, connection } = event.detail;
    if (!protocols.includes(INFO_PROTOCOL) || this.#entries.has(peerId.toString())) return;
    void this.#fetch(connection, 'connected');
  };

  readonly #onDisconnect = (event: CustomEvent<PeerId>): void => {
    this.#remove(event.detail.toString(), 'disconnected');
  };

  /** Registers the protocol handler and starts watching peers. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    this.#stopping = new AbortController();
    await this.#libp2p.handle(DIRECTORY_PROTOCOL, (stream, connection) =>
      this.#serve(stream, connection),
    );
    this.#libp2p.addEventListener('peer:identify', this.#onIdentify);
    this.#libp2p.addEventListener('peer:disconnect', this.#onDisconnect);
    this.#timer = setInterval(
      () => void this.refresh(),
      this.#init.refreshIntervalMs ?? DIRECTORY_REFRESH_MS,
    );
    this.#timer.unref?.();
  }

  async stop(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    this.#stopping.abort(new Error('directory stopping'));
    clearInterval(this.#timer);
    this.#libp2p.removeEventListener('peer:identify', this.#onIdentify);
    this.#libp2p.removeEventListener('peer:disconnect', this.#onDisconnect);
    await this.#libp2p.unhandle(DIRECTORY_PROTOCOL).catch(() => {});
    await Promise.allSettled(this.#inflight.values());
    this.#entries.clear();
  }

  /** Nodes listed now. */
  get size(): number {
    return this.#entries.size;
  }

  /** Every listed node. */
  entries(): DirectoryEntry[] {
    return [...this.#entries.values()];
  }

  get(peerId: string): DirectoryEntry | undefined {
    return this.#entries.get(peerId);
  }

  /**
   * Where to dial a node: its announced addresses from the peer store, plus — when it
   * holds a reservation on this relay — its circuit addresses through this relay
   * (`…/p2p-circuit/webrtc/p2p/<node>` when it speaks WebRTC signalling), so a browser
   * can reach it even before it announced them. Private addresses only when allowed;
   * WebRTC-direct first, then relay-signalled WebRTC, then other direct addresses, then
   * relayed; at most 16.
   */
  async addrsOf(peerId: string): Promise<Multiaddr[]> {
    let id: PeerId;
    let addrs: Multiaddr[];
    let protocols: string[];
    try {
      id = peerIdFromString(peerId);
      const peer = await this.#libp2p.peerStore.get(id);
      addrs = peer.addresses.map((a) => a.multiaddr);
      protocols = peer.protocols;
    } catch {
      return [];
    }
    if (this.#libp2p.services.relay.reservations.get(id) != null) {
      const tail = protocols.includes(WEBRTC_SIGNALING_PROTOCOL)
        ? '/p2p-circuit/webrtc'
        : '/p2p-circuit';
      for (const own of this.#libp2p.getMultiaddrs()) {
        if (!Circuit.matches(own)) addrs.push(own.encapsulate(`${tail}/p2p/${peerId}`));
      }
    }
    const unique = new Map<string, Multiaddr>();
    for (const addr of this.#mapper({ id, multiaddrs: addrs }).multiaddrs) {
      const text = addr.toString();
      const key = text.endsWith(`/p2p/${peerId}`) ? text.slice(0, -(peerId.length + 5)) : text;
      if (!unique.has(key)) unique.set(key, addr);
    }
    const rank = (a: Multiaddr): number =>
      WebRTCDirect.matches(a) ? 0 : WebRTC.matches(a) ? 1 : Circuit.matches(a) ? 3 : 2;
    return [...unique.values()].sort((a, b) => rank(a) - rank(b)).slice(0, MAX_ADDRS);
  }

  /**
   * The nodes serving `model`: those listed, plus providers the DHT knows. When some are
   * listed already the DHT search runs in the background (the answer stays fast);
   * otherwise the lookup waits for it, up to the DHT timeout.
   */
  async providersOf(model: string, options: AbortOptions = {}): Promise<DirectoryEntry[]> {
    const serving = (): DirectoryEntry[] => {
      const now = Date.now();
      return this.entries().filter((e) =>
        e.cards.some((c) => c.card.model.id === model && fresh(c.card, now)),
      );
    };
    const listed = serving();
    const last = this.#lastDhtSearch.get(model) ?? 0;
    if (listed.length === 0) await this.#searchDht(model, options);
    else if (Date.now() - last > DHT_SEARCH_INTERVAL_MS) void this.#searchDht(model, {});
    return listed.length === 0 ? serving() : listed;
  }

  /** Answers one lookup: ranked providers with their cards, within one frame. */
  async lookup(
    query: ClientToDirectoryLookup,
    options: AbortOptions = {},
  ): Promise<DirectoryProvider[]> {
    const entries =
      query.model != null ? await this.providersOf(query.model, options) : this.entries();
    const limit = query.limit ?? MAX_DIRECTORY_PROVIDERS;
    const now = Date.now();
    const out: DirectoryProvider[] = [];
    // Room for `{"type":"providers","providers":[]}` and the separators.
    let size = 40;
    for (const entry of rankProviders(entries)) {
      if (out.length >= limit) break;
      const cards = entry.cards
        .filter(
          (c) => fresh(c.card, now) && (query.model == null || c.card.model.id === query.model),
        )
        .slice(0, MAX_CARDS)
        .map((c) => c.envelope);
      if (cards.length === 0) continue;
      const addrs = (await this.addrsOf(entry.peerId)).map((a) => a.toString());
      const provider: DirectoryProvider = {
        peerId: entry.peerId,
        addrs: addrs.filter((a) => a.length <= 512),
        cards,
        // Relayed as the node signed them: a client seals its first request without
        // asking the node, and checks them against the PeerId its connection authenticated.
        ...(entry.keyRecords.length > 0 ? { keyRecords: entry.keyRecords.slice(0, 4) } : {}),
      };
      const bytes = JSON.stringify(provider).length + 1;
      if (size + bytes > MAX_FRAME_BYTES) break;
      size += bytes;
      out.push(provider);
    }
    return out;
  }

  /**
   * Asks every listed node for fresh info, forgetting those that do not answer, and
   * retries connected nodes that are not listed (one that failed a refresh comes back
   * once it answers again).
   */
  async refresh(): Promise<void> {
    const tasks = this.entries().map((entry) => async () => {
      const connection = this.#connectionTo(entry.peerId);
      if (connection == null) {
        this.#remove(entry.peerId, 'no connection left');
        return;
      }
      await this.#fetch(connection, entry.source);
    });
    const unlisted = new Map<string, Connection>();
    for (const connection of this.#libp2p.getConnections()) {
      const id = connection.remotePeer.toString();
      if (connection.status === 'open' && !this.#entries.has(id)) unlisted.set(id, connection);
    }
    for (const connection of unlisted.values()) {
      tasks.push(async () => {
        const peer = await this.#libp2p.peerStore.get(connection.remotePeer).catch(() => undefined);
        if (peer?.protocols.includes(INFO_PROTOCOL) === true)
          await this.#fetch(connection, 'connected');
      });
    }
    await runLimited(tasks, FETCH_CONCURRENCY);
  }

  #connectionTo(peerId: string): Connection | undefined {
    const connections = this.#libp2p
      .getConnections(peerIdFromString(peerId))
      .filter((c) => c.status === 'open');
    return connections.find((c) => c.limits == null) ?? connections[0];
  }

  /** Fetches and (re)lists one node; on failure it is forgotten. Deduplicated per peer. */
  #fetch(
    connection: Connection,
    source: DirectoryEntry['source'],
  ): Promise<DirectoryEntry | undefined> {
    const peerId = connection.remotePeer.toString();
    const running = this.#inflight.get(peerId);
    if (running != null) return running;
    const signal = AbortSignal.any([
      this.#stopping.signal,
      AbortSignal.timeout(this.#init.infoTimeoutMs ?? INFO_TIMEOUT_MS),
    ]);
    const task = (async () => {
      try {
        const entry = await fetchInfo(connection, source, { signal });
        if (!this.#started) return undefined;
        if (entry.keyRecords.length === 0 || entry.cards.length === 0) {
          this.#remove(peerId, 'no verifiable key record or model card');
          return undefined;
        }
        if (this.#libp2p.getConnections(connection.remotePeer).length === 0) return undefined;
        const previous = this.#entries.get(peerId);
        this.#entries.set(peerId, {
          ...entry,
          source: previous?.source === 'connected' ? 'connected' : source,
        });
        if (previous == null) {
          log('node %s joined with %d card(s)', peerId, entry.cards.length);
          this.#init.onChange?.({
            type: 'joined',
            peerId,
            models: entry.cards.map((c) => c.card.model.id),
          });
        }
        return entry;
      } catch (err) {
        if (this.#started) {
          log('info from %s failed: %s', peerId, (err as Error).name);
          this.#remove(peerId, 'info request failed');
        }
        return undefined;
      } finally {
        this.#inflight.delete(peerId);
      }
    })();
    this.#inflight.set(peerId, task);
    return task;
  }

  #remove(peerId: string, why: string): void {
    const entry = this.#entries.get(peerId);
    if (entry == null) return;
    this.#entries.delete(peerId);
    log('node %s left (%s)', peerId, why);
    this.#init.onChange?.({
      type: 'left',
      peerId,
      models: entry.cards.map((c) => c.card.model.id),
    });
  }

  /** Finds providers of `model` on the DHT, dials the unlisted ones and lists them. */
  async #searchDht(model: string, options: AbortOptions): Promise<void> {
    this.#lastDhtSearch.set(model, Date.now());
    if (this.#lastDhtSearch.size > 1_024) {
      const oldest = this.#lastDhtSearch.keys().next().value;
      if (oldest != null) this.#lastDhtSearch.delete(oldest);
    }
    const signal = AbortSignal.any([
      this.#stopping.signal,
      AbortSignal.timeout(this.#init.dhtTimeoutMs ?? DHT_LOOKUP_TIMEOUT_MS),
      ...(options.signal != null ? [options.signal] : []),
    ]);
    const self = this.#libp2p.peerId;
    const fetches: Array<Promise<unknown>> = [];
    try {
      for await (const provider of this.#libp2p.contentRouting.findProviders(modelCid(model), {
        signal,
      })) {
        const id = provider.id.toString();
        if (provider.id.equals(self) || this.#entries.has(id) || this.#inflight.has(id)) continue;
        if (fetches.length >= MAX_DIRECTORY_PROVIDERS) break;
        fetches.push(this.#fetchFromDht(provider.id, provider.multiaddrs, signal));
      }
    } catch (err) {
      if (!signal.aborted) log('DHT search for a model failed: %s', (err as Error).name);
    }
    await Promise.allSettled(fetches);
  }

  async #fetchFromDht(peer: PeerId, addrs: Multiaddr[], signal: AbortSignal): Promise<void> {
    try {
      if (addrs.length > 0) await this.#libp2p.peerStore.merge(peer, { multiaddrs: addrs });
      const connection = await this.#libp2p.dial(peer, {
        signal: AbortSignal.any([signal, AbortSignal.timeout(DHT_DIAL_TIMEOUT_MS)]),
      });
      await this.#fetch(connection, 'dht');
    } catch (err) {
      log('cannot reach DHT provider %p: %s', peer, (err as Error).name);
    }
  }

  /** One directory-protocol exchange. Whatever the peer sends, only this stream is affected. */
  async #serve(stream: Stream, connection: Connection): Promise<void> {
    const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES });
    const signal = AbortSignal.any([
      this.#stopping.signal,
      AbortSignal.timeout(LOOKUP_STREAM_TIMEOUT_MS),
    ]);
    let query: ClientToDirectoryLookup;
    try {
      query = await readMessage(lp, ClientToDirectoryLookup, { signal });
    } catch (err) {
      this.#init.metrics?.directoryLookups.inc({ result: 'error' });
      log('refused a lookup from %p: %s', connection.remotePeer, (err as Error).name);
      if (err instanceof ProtocolError) {
        try {
          await writeMessage(lp, errorFrame(err), { signal });
          await stream.close({ signal });
          return;
        } catch {
          // fall through to the reset
        }
      }
      stream.abort(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    try {
      const providers = await this.lookup(query, { signal });
      this.#init.metrics?.directoryLookups.inc({ result: 'ok' });
      await writeMessage(lp, { type: 'providers', providers }, { signal });
      await stream.close({ signal });
      log('lookup from %p: %d provider(s)', connection.remotePeer, providers.length);
    } catch (err) {
      log('lookup from %p failed: %s', connection.remotePeer, (err as Error).name);
      stream.abort(err instanceof Error ? err : new Error(String(err)));
    }
  }
}
