/**
 * Routing OpenAI requests to the mesh: the models other nodes serve, and running a
 * request on one of them.
 *
 * Discovery asks the connected bootstraps' directories (one round trip, signed cards
 * verified here), falling back to the DHT (providers of the generic inference-node key,
 * asked for their info directly). A request goes to the least loaded provider (signed
 * card load, then measured round trip), over a direct connection, sealed to a key record
 * verified against the PeerId Noise authenticated. Anything that fails before the first
 * event fails over to the next provider; a node that dies mid-answer ends the stream
 * with an OpenAI-shaped error. A node that stops responding is noticed within seconds
 * (see SilenceWatch), a provider whose dial stalls gets the next one dialled beside it
 * (reachInTurn), and a provider that failed is tried after the others for a while.
 */
import { logger } from '@libp2p/logger';
import { peerIdFromString } from '@libp2p/peer-id';
import type { Connection, PeerId } from '@libp2p/interface';
import type { Multiaddr } from '@multiformats/multiaddr';
import {
  dialProvider,
  fetchNodeInfo,
  inferenceNodeCid,
  lookupDirectory,
  rankProviders,
  reachInTurn,
  RecentFailures,
  runInferenceBatches,
  SealAhead,
  StandbyStreams,
  type InferenceEndpoint,
  type ModelCard,
  type ResponseEvent,
  type VerifiedNodeInfo,
} from '../../protocol/index.js';
import { untilAborted } from '../../protocol/timers.js';
import { OpenAIError } from '../openai/errors.js';
import { errorEvent, type RemoteModel, type RemoteModels } from '../service.js';
import type { NodeLibp2p } from './libp2p.js';

const log = logger('tokenplace:node:mesh:router');

/** Providers tried for one request before giving up. */
const MAX_ATTEMPTS = 3;
/** How long a verified key record and card are reused before asking the node again. */
const INFO_CACHE_MS = 30_000;
/** Providers not seen in a refresh for this long are forgotten. */
const PROVIDER_STALE_MS = 60_000;
/** Whole budget for reaching one provider (direct, then WebRTC with retries). */
const DIAL_TIMEOUT_MS = 20_000;
const DIRECTORY_TIMEOUT_MS = 5_000;

interface Provider {
  peerId: string;
  addrs: Multiaddr[];
  cards: ModelCard[];
  seenAt: number;
}

export interface MeshRouterInit {
  libp2p: NodeLibp2p;
  /** PeerIds of the bootstraps whose directories to ask. */
  bootstraps: () => PeerId[];
}

export class MeshRouter implements RemoteModels {
  readonly #libp2p: NodeLibp2p;
  readonly #bootstraps: () => PeerId[];
  readonly #self: string;
  #providers = new Map<string, Provider>();
  readonly #info = new Map<string, { info: VerifiedNodeInfo; at: number }>();
  readonly #rtt = new Map<string, number>();
  #refreshing: Promise<void> | undefined;
  /** When the directories were last asked (ms since the epoch). */
  #refreshedAt = 0;
  readonly #streams = new StandbyStreams();
  readonly #seals = new SealAhead();
  readonly #failures = new RecentFailures();

  constructor(init: MeshRouterInit) {
    this.#libp2p = init.libp2p;
    this.#bootstraps = init.bootstraps;
    this.#self = init.libp2p.peerId.toString();
  }

  list(): RemoteModel[] {
    const byModel = new Map<string, RemoteModel>();
    for (const p of this.#providers.values()) {
      for (const card of p.cards) {
        const entry = byModel.get(card.model.id) ?? {
          id: card.model.id,
          providers: 0,
          card: card.model,
        };
        entry.providers++;
        byModel.set(card.model.id, entry);
      }
    }
    return [...byModel.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Re-reads the directories (and the DHT if they know nobody); concurrent calls share one. */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#refresh().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  /**
   * {@link refresh} when the directories were last asked more than `maxAgeMs` ago, waiting
   * at most `waitMs` for it (the answer then comes from the list as it is; the refresh
   * goes on).
   */
  async fresh(maxAgeMs: number, waitMs: number): Promise<void> {
    if (Date.now() - this.#refreshedAt < maxAgeMs) return;
    await untilAborted(this.refresh(), AbortSignal.timeout(waitMs)).catch(() => {});
  }

  async #refresh(): Promise<void> {
    const now = Date.now();
    this.#refreshedAt = now;
    let found = 0;
    for (const bootstrap of this.#bootstraps()) {
      try {
        const providers = await lookupDirectory(
          this.#libp2p,
          bootstrap,
          {},
          { signal: AbortSignal.timeout(DIRECTORY_TIMEOUT_MS) },
        );
        for (const p of providers) {
          if (p.peerId === this.#self) continue;
          this.#providers.set(p.peerId, { ...p, seenAt: now });
          found++;
        }
      } catch (err) {
        log('directory lookup at %p failed: %s', bootstrap, (err as Error).message);
      }
    }
    if (found === 0) await this.#refreshFromDht(now);
    for (const [id, p] of this.#providers) {
      if (now - p.seenAt > PROVIDER_STALE_MS) this.#providers.delete(id);
    }
  }

  async #refreshFromDht(now: number): Promise<void> {
    const signal = AbortSignal.timeout(DIRECTORY_TIMEOUT_MS);
    try {
      for await (const provider of this.#libp2p.contentRouting.findProviders(inferenceNodeCid(), {
        signal,
      })) {
        const id = provider.id.toString();
        if (id === this.#self) continue;
        try {
          const connection = await this.#dial({ peerId: id, addrs: provider.multiaddrs });
          const info = await this.#nodeInfo(connection);
          this.#providers.set(id, {
            peerId: id,
            addrs: provider.multiaddrs,
            cards: info.cards,
            seenAt: now,
          });
        } catch (err) {
          log('DHT provider %s unreachable: %s', id, (err as Error).message);
        }
      }
    } catch (err) {
      log('DHT provider search ended: %s', (err as Error).name);
    }
  }

  #dial(
    provider: { peerId: string; addrs: readonly Multiaddr[] },
    signal?: AbortSignal,
  ): Promise<Connection> {
    const timeout = AbortSignal.timeout(DIAL_TIMEOUT_MS);
    return dialProvider(this.#libp2p, provider, peerIdFromString, {
      signal: signal != null ? AbortSignal.any([signal, timeout]) : timeout,
    });
  }

  /** The node's verified info, cached per peer for a short while. */
  async #nodeInfo(connection: Connection, signal?: AbortSignal): Promise<VerifiedNodeInfo> {
    const id = connection.remotePeer.toString();
    const cached = this.#info.get(id);
    if (
      cached != null &&
      Date.now() - cached.at < INFO_CACHE_MS &&
      cached.info.key.notAfter > Date.now()
    ) {
      return cached.info;
    }
    const info = await fetchNodeInfo(connection, signal != null ? { signal } : {});
    this.#info.set(id, { info, at: Date.now() });
    this.#seals.warm(info.key);
    if (!this.#rtt.has(id)) {
      this.#libp2p.services.ping
        .ping(connection.remotePeer, { signal: AbortSignal.timeout(2_000) })
        .then((ms) => this.#rtt.set(id, ms))
        .catch(() => {});
    }
    return info;
  }

  /** A direct connection to `provider` and its verified info, if it still serves `model`. */
  async #reach(
    provider: Provider,
    model: string,
    signal: AbortSignal,
  ): Promise<{ connection: Connection; info: VerifiedNodeInfo }> {
    const connection = await this.#dial(provider, signal);
    const info = await this.#nodeInfo(connection, signal);
    if (!info.cards.some((c) => c.model.id === model)) throw new Error(`no longer serves ${model}`);
    return { connection, info };
  }

  #candidates(model: string): Provider[] {
    const providers = [...this.#providers.values()]
      .map((p) => ({ ...p, card: p.cards.find((c) => c.model.id === model) }))
      .filter((p): p is Provider & { card: ModelCard } => p.card != null)
      .map((p) => ({ ...p, load: p.card.load }));
    return rankProviders(providers, (id) => this.#rtt.get(id), this.#failures.lastFailure);
  }

  async *run(
    endpoint: InferenceEndpoint,
    body: Record<string, unknown>,
    model: string,
    options: { signal: AbortSignal },
  ): AsyncGenerator<ResponseEvent[]> {
    let candidates = this.#candidates(model);
    if (candidates.length === 0) {
      await this.refresh();
      candidates = this.#candidates(model);
    }
    const failures: string[] = [];
    const failed = (provider: Provider, err: unknown): void => {
      failures.push(`${provider.peerId.slice(-8)}: ${(err as Error).message}`);
      log('provider %s failed before answering: %s', provider.peerId, (err as Error).message);
      this.#info.delete(provider.peerId);
      this.#failures.failed(provider.peerId);
    };
    // The best provider first; the next beside it if its dial stalls (a frozen node).
    const reachable = reachInTurn(
      candidates.slice(0, MAX_ATTEMPTS),
      (p) => this.#reach(p, model, options.signal),
      {
        signal: options.signal,
        onFailure: (p, err) => {
          if (!options.signal.aborted) failed(p, err);
        },
      },
    );
    for await (const { candidate: provider, result } of reachable) {
      const { connection, info } = result;
      let batches: AsyncGenerator<ResponseEvent[]>;
      let first: IteratorResult<ResponseEvent[]>;
      const sentAt = Date.now();
      try {
        batches = runInferenceBatches(
          connection,
          info.key,
          { endpoint, body },
          { signal: options.signal, streams: this.#streams, seals: this.#seals },
        );
        first = await batches.next();
      } catch (err) {
        if (options.signal.aborted) {
          if (this.#failures.abandoned(provider.peerId, sentAt)) {
            log(
              'provider %s held a request %d ms without answering until its client gave up',
              provider.peerId,
              Date.now() - sentAt,
            );
          }
          return;
        }
        failed(provider, err);
        continue;
      }
      if (first.done === true) {
        failures.push(`${provider.peerId.slice(-8)}: empty answer`);
        this.#failures.failed(provider.peerId);
        continue;
      }
      const event = first.value[0]!;
      if (event.type === 'error' && (event.status === 429 || event.status >= 500)) {
        // Busy or failing before any output: another provider may do better.
        failures.push(`${provider.peerId.slice(-8)}: ${event.status}`);
        await batches.return(undefined);
        continue;
      }
      yield first.value;
      try {
        for await (const batch of batches) yield batch;
        this.#failures.succeeded(provider.peerId);
      } catch (err) {
        if (options.signal.aborted) return;
        log('provider %s failed mid-answer: %s', provider.peerId, (err as Error).name);
        this.#failures.failed(provider.peerId);
        yield [
          errorEvent(
            new OpenAIError(
              502,
              'The node serving this request went away mid-answer; the output so far is incomplete.',
              'server_error',
              {
                code: 'node_failed',
              },
            ),
          ),
        ];
      }
      return;
    }
    yield [
      errorEvent(
        candidates.length === 0
          ? new OpenAIError(
              404,
              `No node in the mesh serves the model \`${model}\` right now.`,
              'invalid_request_error',
              {
                code: 'model_not_found',
                param: 'model',
              },
            )
          : new OpenAIError(
              502,
              `No provider of \`${model}\` could answer (${failures.join('; ')}).`,
              'server_error',
              {
                code: 'no_provider_available',
              },
            ),
      ),
    ];
  }
}
