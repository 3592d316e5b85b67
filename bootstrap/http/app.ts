/**
 * The bootstrap's HTTP server (hono):
 *
 * - `GET /healthz` — status, PeerId, connections, reservations, directory size
 * - `GET /metrics` — Prometheus text (libp2p's metrics and token.place's)
 * - `GET /bootstrap.json` — `BootstrapInfo`: the WebSocket multiaddrs a browser dials,
 *   and a snapshot of the directory (the nodes' own signed cards and key records)
 * - the OpenAI gateway under `/v1`, `/api/v1` and `/nodes/{peerId}/v1` (see gateway.ts)
 * - everything else: the built web chat, with a single-page-app fallback
 *
 * Every response carries security headers that keep the app out of frames and stop
 * content sniffing and referrer leaks.
 */
import { Hono } from 'hono';
import { cors } from 'hono/cors';
import type { BootstrapInfo } from '../../protocol/index.js';
import type { Directory } from '../directory.js';
import type { BootstrapLibp2p } from '../libp2p.js';
import type { BootstrapMetrics } from '../metrics.js';
import type { Tap } from '../tap.js';
import {
  gatewayErrorHandler,
  registerGateway,
  type GatewayEnv,
  type GatewayRequestRecord,
} from './gateway.js';
import { webApp } from './static.js';

export const SECURITY_HEADERS = {
  'content-security-policy': "frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
} as const;

export interface HttpAppInit {
  libp2p: BootstrapLibp2p;
  directory: Directory;
  metrics: BootstrapMetrics;
  /** Where the built web app lives. */
  webRoot: string;
  /** The `BootstrapInfo` for a request (its Host decides which address comes first). */
  bootstrapInfo(host: string | undefined): BootstrapInfo;
  /** Serve plain-mode gateway requests. @default true */
  plainGateway?: boolean;
  tap?: Tap;
  onRequest?(record: GatewayRequestRecord): void;
}

export function createHttpApp(init: HttpAppInit): Hono<GatewayEnv> {
  const app = new Hono<GatewayEnv>();

  app.use('*', async (c, next) => {
    await next();
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(name, value);
  });

  app.get('/healthz', (c) =>
    c.json({
      status: 'ok',
      peerId: init.libp2p.peerId.toString(),
      connections: init.libp2p.getConnections().length,
      reservations: init.libp2p.services.relay.reservations.size,
      directory: init.directory.size,
    }),
  );

  app.get('/metrics', async (c) => {
    const { contentType, body } = await init.metrics.render();
    return c.body(body, 200, { 'content-type': contentType, 'cache-control': 'no-store' });
  });

  app.use('/bootstrap.json', cors({ origin: '*', allowMethods: ['GET'] }));
  app.get('/bootstrap.json', async (c) => {
    // The directory comes along, so the page dials a node while it reaches the relay.
    const providers = await init.directory.lookup({ type: 'lookup' }).catch(() => []);
    return c.json(
      {
        ...init.bootstrapInfo(c.req.header('host')),
        ...(providers.length > 0 ? { providers } : {}),
      } satisfies BootstrapInfo,
      200,
      { 'cache-control': 'no-cache' },
    );
  });

  registerGateway(app, {
    libp2p: init.libp2p,
    directory: init.directory,
    metrics: init.metrics,
    plain: init.plainGateway !== false,
    ...(init.tap != null ? { tap: init.tap } : {}),
    ...(init.onRequest != null ? { onRequest: init.onRequest } : {}),
  });

  const serveApp = webApp(init.webRoot);
  app.on(['GET', 'HEAD'], '*', (c) => serveApp(c));
  app.notFound((c) => c.text('Not Found', 404));
  app.onError(gatewayErrorHandler);
  return app;
}
