/**
 * Mesh membership of an inference node: its libp2p peer, the info and inference
 * protocols, staying connected to its bootstraps (re-dialling after an outage, which
 * also renews its relay reservation), advertising its model on the DHT, and routing
 * requests for other models to the mesh.
 *
 * @example
 * ```ts
 * const mesh = await startMesh({ identity, engine, keyring, replay, service, bootstraps: ['/ip4/…/ws/p2p/12D3…'], … });
 * mesh.multiaddrs(); // where other peers reach this node
 * await mesh.stop();
 * ```
 */
import { logger } from '@libp2p/logger';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import { peerIdFromString } from '@libp2p/peer-id';
import type { PeerId } from '@libp2p/interface';
import { inferenceNodeCid, modelCid, transportOf, type ReplayGuard } from '../../protocol/index.js';
import type { Engine } from '../engine/index.js';
import type { Identity } from '../identity.js';
import type { Keyring } from '../keyring.js';
import type { InferenceService } from '../service.js';
import { ModelCardSigner } from './cards.js';
import { registerHandlers, unregisterHandlers } from './handlers.js';
import { createNodeLibp2p, type NodeLibp2p } from './libp2p.js';
import { MeshRouter } from './router.js';

const log = logger('tokenplace:node:mesh');

export interface MeshInit {
  identity: Identity;
  engine?: Engine;
  keyring: Keyring;
  replay: ReplayGuard;
  service: InferenceService;
  /** Bootstrap multiaddrs, each ending in `/p2p/<peerId>`. */
  bootstraps: readonly string[];
  listen: readonly string[];
  announce?: readonly string[];
  allowPrivateAddresses: boolean;
  /** How often to re-advertise on the DHT (and re-check bootstraps). @default 30 s */
  provideIntervalMs?: number;
  /** How often to re-read the directories for the mesh's models. @default 15 s */
  discoveryIntervalMs?: number;
}

export interface Mesh {
  libp2p: NodeLibp2p;
  router: MeshRouter;
  /** This node's multiaddrs (direct, relayed, WebRTC). */
  multiaddrs(): string[];
  /** Whether a bootstrap is connected right now. */
  connectedBootstraps(): number;
  stop(): Promise<void>;
}

export class MeshConfigError extends Error {
  static override readonly name = 'MeshConfigError';
  constructor(message: string) {
    super(message);
    this.name = 'MeshConfigError';
  }
}

interface Bootstrap {
  addr: Multiaddr;
  peerId: PeerId;
}

function parseBootstraps(addrs: readonly string[]): Bootstrap[] {
  return addrs.map((text) => {
    let addr: Multiaddr;
    try {
      addr = multiaddr(text);
    } catch {
      throw new MeshConfigError(`--bootstrap ${text}: not a multiaddr`);
    }
    const last = addr.getComponents().findLast((c) => c.name === 'p2p');
    if (last?.value == null)
      throw new MeshConfigError(`--bootstrap ${text}: must end in /p2p/<peer id>`);
    return { addr, peerId: peerIdFromString(last.value) };
  });
}

const LOOPBACK = /\/ip4\/127\.|\/ip6\/::1\/|\/dns4\/localhost\//;

export async function startMesh(init: MeshInit): Promise<Mesh> {
  const bootstraps = parseBootstraps(init.bootstraps);
  const libp2p = await createNodeLibp2p({
    privateKey: init.identity.privateKey,
    // `none`: reachable only through the relay (WebRTC), like a node behind a NAT.
    listen: init.listen.filter((a) => a !== 'none'),
    ...(init.announce != null ? { announce: init.announce } : {}),
    allowPrivateAddresses: init.allowPrivateAddresses,
    loopbackOnly:
      init.allowPrivateAddresses &&
      bootstraps.length > 0 &&
      bootstraps.every((b) => LOOPBACK.test(b.addr.toString())),
  });
  const peerId = libp2p.peerId.toString();
  const cards =
    init.engine != null
      ? new ModelCardSigner(init.engine, init.identity.privateKey, peerId)
      : undefined;
  await registerHandlers(libp2p, {
    peerId,
    keyring: init.keyring,
    replay: init.replay,
    service: init.service,
    ...(cards != null ? { cards } : {}),
    load: () => init.engine?.load() ?? { active: 0, queued: 0, maxConcurrency: 1 },
  });

  const router = new MeshRouter({
    libp2p,
    bootstraps: () =>
      bootstraps.filter((b) => libp2p.getConnections(b.peerId).length > 0).map((b) => b.peerId),
  });
  init.service.setRemote(router);

  const cids = init.engine != null ? [modelCid(init.engine.model.id), inferenceNodeCid()] : [];
  let stopped = false;
  let providing: Promise<void> | undefined;
  const provide = (): Promise<void> =>
    (providing ??= (async () => {
      for (const cid of cids) {
        try {
          await libp2p.contentRouting.provide(cid, { signal: AbortSignal.timeout(15_000) });
        } catch (err) {
          log('provide %s failed: %s', cid, (err as Error).message);
        }
      }
    })().finally(() => {
      providing = undefined;
    }));

  /** Dials every bootstrap we are not connected to; true if one came (back) up. */
  const connectBootstraps = async (): Promise<boolean> => {
    let reconnected = false;
    await Promise.all(
      bootstraps.map(async (b) => {
        if (libp2p.getConnections(b.peerId).some((c) => c.status === 'open')) return;
        try {
          await libp2p.dial(b.addr, { signal: AbortSignal.timeout(5_000) });
          reconnected = true;
          log('connected to bootstrap %p', b.peerId);
        } catch (err) {
          log('bootstrap %p unreachable: %s', b.peerId, (err as Error).message);
        }
      }),
    );
    return reconnected;
  };

  // Stay connected: a bootstrap that restarts is re-dialled within seconds, which renews
  // the relay reservation; then advertise again (its DHT forgot us) and refresh routes.
  const keepAlive = setInterval(() => {
    if (stopped) return;
    connectBootstraps()
      .then(async (reconnected) => {
        if (reconnected && !stopped) {
          await Promise.all([provide(), router.refresh()]);
        }
      })
      .catch(() => {});
  }, 2_000);
  keepAlive.unref();
  const reprovide = setInterval(() => void provide(), init.provideIntervalMs ?? 30_000);
  reprovide.unref();
  const rediscover = setInterval(() => void router.refresh(), init.discoveryIntervalMs ?? 15_000);
  rediscover.unref();

  await connectBootstraps();
  // Advertise and learn the mesh in the background: the node serves its own API at once.
  void (async () => {
    if (cids.length > 0) await provide();
    await router.refresh();
  })();

  return {
    libp2p,
    router,
    multiaddrs: () => libp2p.getMultiaddrs().map(String),
    connectedBootstraps: () =>
      bootstraps.filter((b) => libp2p.getConnections(b.peerId).length > 0).length,
    stop: async () => {
      stopped = true;
      clearInterval(keepAlive);
      clearInterval(reprovide);
      clearInterval(rediscover);
      init.service.setRemote(undefined);
      await unregisterHandlers(libp2p).catch(() => {});
      // WebRTC connections first, each closing its streams: libp2p's stop would race its
      // WebRTC-direct listener, which closes its peer connections outright (a browser
      // then learns nothing until ICE gives up, ~5 s later), against its connection
      // manager. A browser mid-answer now sees the answer cut at once, and retries. Only
      // those: closing the relay's connection before libp2p stops has it dialled again.
      await Promise.all(
        libp2p
          .getConnections()
          .filter((c) => transportOf(c) === 'direct WebRTC')
          .map((c) =>
            c
              .close({ signal: AbortSignal.timeout(1_000) })
              .catch((err: unknown) => c.abort(err as Error)),
          ),
      );
      await libp2p.stop();
    },
  };
}
