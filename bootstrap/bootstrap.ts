/**
 * Starting and stopping a bootstrap: identity, libp2p (relay, DHT server, directory)
 * and the HTTP server (web app, gateway, health, metrics). `main.ts` wraps this for the
 * CLI; tests and `token.place start` call it directly.
 *
 * @example
 * ```ts
 * const config = loadBootstrapConfig(['--listen', '/ip4/127.0.0.1/tcp/0/ws', '--http', '127.0.0.1:0'], {});
 * const bootstrap = await startBootstrap(config);
 * console.log(bootstrap.multiaddrs[0], bootstrap.httpUrl);
 * await bootstrap.stop();
 * ```
 */
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { logger } from '@libp2p/logger';
import { KEEP_ALIVE } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import { WebSockets, WebSocketsSecure } from '@multiformats/multiaddr-matcher';
import type { BootstrapInfo } from '../protocol/index.js';
import { parseHostPort, type BootstrapConfig } from './config.js';
import { Directory, type DirectoryChange, type DirectoryInit } from './directory.js';
import { createHttpApp } from './http/app.js';
import type { GatewayRequestRecord } from './http/gateway.js';
import {
  bootstrapIdentityPath,
  loadBootstrapIdentity,
  type BootstrapIdentity,
} from './identity.js';
import { createBootstrapLibp2p, type BootstrapLibp2p } from './libp2p.js';
import { BootstrapMetrics } from './metrics.js';
import { defaultWebRoot } from './paths.js';
import type { Tap } from './tap.js';

const log = logger('tokenplace:bootstrap');

export interface StartBootstrapOptions {
  /**
   * Sees every byte the bootstrap handles in the clear: libp2p traffic after Noise
   * decryption and before encryption, and gateway HTTP bodies (see tap.ts). For tests
   * that prove what a relay can see; absent, nothing is wrapped.
   */
  tap?: Tap;
  /** Aborts start-up. */
  signal?: AbortSignal;
  /** Called after each gateway request (ids and timings only). */
  onRequest?(record: GatewayRequestRecord): void;
  /** Called when a node joins or leaves the directory. */
  onDirectoryChange?(change: DirectoryChange): void;
  /** Directory timings (tests shorten them). */
  directory?: Pick<DirectoryInit, 'refreshIntervalMs' | 'infoTimeoutMs' | 'dhtTimeoutMs'>;
}

export interface RunningBootstrap {
  config: BootstrapConfig;
  identity: BootstrapIdentity;
  peerId: string;
  /** Every libp2p address, with `/p2p/<peerId>` (announced ones when `--announce` is set). */
  multiaddrs: string[];
  /** The HTTP base URL, e.g. `http://127.0.0.1:8080` (no trailing slash). */
  httpUrl: string;
  httpPort: number;
  libp2p: BootstrapLibp2p;
  directory: Directory;
  metrics: BootstrapMetrics;
  /** What `GET /bootstrap.json` answers. */
  bootstrapInfo(host?: string): BootstrapInfo;
  stop(): Promise<void>;
}

export class BootstrapStartError extends Error {
  static override readonly name = 'BootstrapStartError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BootstrapStartError';
  }
}

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '']);
/** How often a missing connection to a `--peer` bootstrap is dialled again. */
export const PEER_REDIAL_MS = 30_000;

/**
 * Keeps connections to the other bootstraps (`--peer`), so each one's DHT routing table
 * holds the others and a provider record on any of them can be found from all. libp2p's
 * own keep-alive gives up after a few tries; this loop never does.
 */
function keepPeers(libp2p: BootstrapLibp2p, addrs: readonly string[]): () => void {
  if (addrs.length === 0) return () => {};
  const stopping = new AbortController();
  const targets = addrs.map((text) => {
    const addr = multiaddr(text);
    return { addr, id: peerIdFromString(addr.getComponents().at(-1)!.value!) };
  });
  const connect = async (): Promise<void> => {
    for (const { addr, id } of targets) {
      if (stopping.signal.aborted) return;
      if (libp2p.getConnections(id).some((c) => c.status === 'open')) continue;
      try {
        await libp2p.peerStore.merge(id, { tags: { [KEEP_ALIVE]: { value: 1 } } });
        await libp2p.dial(addr, {
          signal: AbortSignal.any([stopping.signal, AbortSignal.timeout(10_000)]),
        });
        log('connected to bootstrap %p', id);
      } catch (err) {
        if (!stopping.signal.aborted) log('cannot reach bootstrap %p: %s', id, (err as Error).name);
      }
    }
  };
  void connect();
  const timer = setInterval(() => void connect(), PEER_REDIAL_MS);
  timer.unref?.();
  return () => {
    stopping.abort();
    clearInterval(timer);
  };
}

function urlHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

function listen(server: ServerType): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => reject(err);
    server.once('error', onError);
    server.once('listening', () => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    });
  });
}

function hostOf(addr: Multiaddr): string | undefined {
  return addr.getComponents().find((c) => ['ip4', 'ip6', 'dns', 'dns4', 'dns6'].includes(c.name))
    ?.value;
}

function isLoopback(host: string | undefined): boolean {
  return host === 'localhost' || host === '::1' || (host?.startsWith('127.') ?? false);
}

/**
 * The WebSocket multiaddrs a browser can dial, with `/p2p/<peerId>`: the announced
 * ones when set, else the listeners (a wildcard expands to every interface). The
 * address on the host the page came from goes first, loopback last.
 */
function browserAddrs(libp2p: BootstrapLibp2p, requestHost: string | undefined): string[] {
  const wanted = requestHost
    ?.replace(/:\d+$/, '')
    .replace(/^\[|\]$/g, '')
    .toLowerCase();
  const addrs = libp2p
    .getMultiaddrs()
    .filter((a) => WebSockets.matches(a) || WebSocketsSecure.matches(a));
  const rank = (a: Multiaddr): number => {
    const host = hostOf(a)?.toLowerCase();
    if (wanted != null && host === wanted) return 0;
    return isLoopback(host) ? 2 : 1;
  };
  return [...addrs]
    .sort((a, b) => rank(a) - rank(b))
    .map((a) => a.toString())
    .slice(0, 16);
}

export async function startBootstrap(
  config: BootstrapConfig,
  options: StartBootstrapOptions = {},
): Promise<RunningBootstrap> {
  const http = parseHostPort(config.http);
  await mkdir(config.dataDir, { recursive: true });
  const identity = await loadBootstrapIdentity(bootstrapIdentityPath(config.dataDir));
  const peerId = identity.peerId.toString();
  log('peer id %s (identity %s)', peerId, identity.created ? 'created' : 'loaded');
  options.signal?.throwIfAborted();

  const metrics = new BootstrapMetrics();
  const libp2p = await createBootstrapLibp2p({
    config,
    privateKey: identity.privateKey,
    metrics,
    ...(options.tap != null ? { tap: options.tap } : {}),
  });
  const directory = new Directory({
    libp2p,
    allowPrivateAddresses: config.allowPrivateAddresses,
    metrics,
    ...options.directory,
    ...(options.onDirectoryChange != null ? { onChange: options.onDirectoryChange } : {}),
  });

  let server: ServerType | undefined;
  let stopPeers = (): void => {};
  try {
    await directory.start();
    try {
      await libp2p.start();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new BootstrapStartError(
        code === 'EADDRINUSE'
          ? `a --listen address is already in use (${config.listen.join(', ')}): pick another port (0 picks a free one)`
          : `cannot start libp2p on ${config.listen.join(', ')}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    options.signal?.throwIfAborted();
    stopPeers = keepPeers(libp2p, config.peer);
    metrics.observe({
      directoryProviders: () => directory.size,
      routingTableSize: () =>
        (libp2p.services.dht as unknown as { routingTable?: { size: number } }).routingTable
          ?.size ?? 0,
      reservations: () => libp2p.services.relay.reservations.size,
    });

    const bootstrapInfo = (host?: string): BootstrapInfo => ({
      peerId,
      multiaddrs: browserAddrs(libp2p, host),
      ...(config.allowPrivateAddresses ? { allowPrivateAddresses: true } : {}),
    });
    const app = createHttpApp({
      libp2p,
      directory,
      metrics,
      webRoot: config.webRoot ?? defaultWebRoot(),
      bootstrapInfo,
      plainGateway: config.plainGateway,
      ...(options.tap != null ? { tap: options.tap } : {}),
      ...(options.onRequest != null ? { onRequest: options.onRequest } : {}),
    });
    server = serve({ fetch: app.fetch, hostname: http.host, port: http.port });
    const address = await listen(server).catch((err: NodeJS.ErrnoException) => {
      throw new BootstrapStartError(
        err.code === 'EADDRINUSE'
          ? `HTTP port ${http.port} on ${http.host} is already in use: pick another with --http (port 0 picks a free one)`
          : `cannot listen on ${config.http}: ${err.message}`,
        { cause: err },
      );
    });
    const httpUrl = `http://${urlHost(WILDCARD_HOSTS.has(http.host) ? '127.0.0.1' : http.host)}:${address.port}`;
    const httpServer = server;
    let stopping: Promise<void> | undefined;
    return {
      config,
      identity,
      peerId,
      multiaddrs: libp2p.getMultiaddrs().map((a) => a.toString()),
      httpUrl,
      httpPort: address.port,
      libp2p,
      directory,
      metrics,
      bootstrapInfo,
      stop: () =>
        (stopping ??= (async () => {
          await new Promise<void>((resolve) => {
            httpServer.close(() => resolve());
            (httpServer as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
          });
          stopPeers();
          await directory.stop();
          await libp2p.stop();
          log('stopped');
        })()),
    };
  } catch (err) {
    stopPeers();
    server?.close();
    await directory.stop().catch(() => {});
    await Promise.resolve(libp2p.stop()).catch(() => {});
    throw err;
  }
}
