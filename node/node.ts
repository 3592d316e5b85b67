/**
 * Starting and stopping an inference node: identity, engine, HPKE keyring, the
 * inference service and the OpenAI HTTP API. `main.ts` wraps this for the CLI; tests
 * and `token.place start` call it directly.
 *
 * @example
 * ```ts
 * const node = await startNode({ ...loadNodeConfig([], {}), apiPort: 0 });
 * console.log(node.apiUrl); // http://127.0.0.1:40123/v1
 * await node.stop();
 * ```
 */
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { logger } from '@libp2p/logger';
import { ReplayGuard } from '../protocol/index.js';
import { createEngine, type Engine, type EngineProgress } from './engine/index.js';
import type { NodeConfig } from './config.js';
import { createHttpApi, type RequestRecord } from './http/app.js';
import { identityPath, loadIdentity, type Identity } from './identity.js';
import { Keyring } from './keyring.js';
import { InferenceService } from './service.js';
import type { Mesh } from './mesh/index.js';

const log = logger('tokenplace:node');

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

export interface StartNodeOptions {
  onProgress?(progress: EngineProgress): void;
  onRequest?(record: RequestRecord): void;
  signal?: AbortSignal;
}

export interface RunningNode {
  config: NodeConfig;
  identity: Identity;
  engine: Engine | undefined;
  service: InferenceService;
  keyring: Keyring;
  replay: ReplayGuard;
  /** The OpenAI base URL, e.g. `http://127.0.0.1:8000/v1`. */
  apiUrl: string;
  apiPort: number;
  /** Mesh membership, when the node was given bootstraps. */
  mesh: Mesh | undefined;
  stop(): Promise<void>;
}

export class NodeStartError extends Error {
  static override readonly name = 'NodeStartError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NodeStartError';
  }
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

function urlHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

export async function startNode(
  config: NodeConfig,
  options: StartNodeOptions = {},
): Promise<RunningNode> {
  await mkdir(config.dataDir, { recursive: true });
  const identity = await loadIdentity(identityPath(config.dataDir));
  const peerId = identity.peerId.toString();
  log('peer id %p', identity.peerId);

  let engine: Engine | undefined;
  if (config.model !== 'none') {
    engine = await createEngine(
      {
        model: config.model,
        dataDir: config.dataDir,
        ...(config.modelId != null ? { modelId: config.modelId } : {}),
        ...(config.threads != null ? { threads: config.threads } : {}),
        ...(config.maxConcurrency != null ? { maxConcurrency: config.maxConcurrency } : {}),
        maxQueue: config.maxQueue,
        ...(config.contextSize != null ? { contextSize: config.contextSize } : {}),
        ...(config.gpu != null ? { gpu: config.gpu === 'off' ? false : ('auto' as const) } : {}),
        ...(options.onProgress != null ? { onProgress: options.onProgress } : {}),
      },
      options.signal != null ? { signal: options.signal } : {},
    );
  }

  const keyring = new Keyring({ identity: identity.privateKey, peerId });
  const replay = new ReplayGuard();
  const service = new InferenceService(engine != null ? { engine } : {});
  let server: ServerType | undefined;
  try {
    await keyring.start();
    const loopback = LOOPBACK_HOSTS.has(config.apiHost);
    const app = createHttpApi({
      service,
      keyring,
      replay,
      peerId,
      ...(config.apiKey != null ? { apiKey: config.apiKey } : {}),
      corsOrigins: config.corsOrigin,
      // On loopback, refuse Host names other than localhost: a DNS-rebinding page could
      // otherwise use the node from the user's browser.
      ...(loopback ? { allowedHosts: ['localhost', '127.0.0.1', '[::1]'] } : {}),
      ...(options.onRequest != null ? { onRequest: options.onRequest } : {}),
    });
    server = serve({ fetch: app.fetch, hostname: config.apiHost, port: config.apiPort });
    const address = await listen(server).catch((err: NodeJS.ErrnoException) => {
      throw new NodeStartError(
        err.code === 'EADDRINUSE'
          ? `port ${config.apiPort} on ${config.apiHost} is already in use: pick another with --api-port (0 picks a free one)`
          : `cannot listen on ${config.apiHost}:${config.apiPort}: ${err.message}`,
        { cause: err },
      );
    });
    const apiUrl = `http://${urlHost(config.apiHost === '0.0.0.0' ? '127.0.0.1' : config.apiHost)}:${address.port}/v1`;
    let mesh: Mesh | undefined;
    if (config.bootstrap.length > 0) {
      const { startMesh } = await import('./mesh/index.js');
      mesh = await startMesh({
        identity,
        ...(engine != null ? { engine } : {}),
        keyring,
        replay,
        service,
        bootstraps: config.bootstrap,
        listen: config.listen,
        announce: config.announce,
        allowPrivateAddresses: config.allowPrivateAddresses,
      });
    }
    let stopping: Promise<void> | undefined;
    const running: RunningNode = {
      config,
      identity,
      engine,
      service,
      keyring,
      replay,
      apiUrl,
      apiPort: address.port,
      mesh,
      stop: () =>
        (stopping ??= (async () => {
          await mesh?.stop();
          await new Promise<void>((resolve) => {
            server!.close(() => resolve());
            (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
          });
          keyring.stop();
          await engine?.close();
        })()),
    };
    return running;
  } catch (err) {
    server?.close();
    keyring.stop();
    await engine?.close();
    throw err;
  }
}
