// The bootstrap's HTTP side without inference nodes: health, metrics, bootstrap.json,
// and static hosting of the web app (content types, security headers, SPA fallback,
// the page shown when the app is not built).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { BootstrapInfo } from '../../protocol/index.js';
import {
  makeWebRoot,
  startLightClient,
  startTestBootstrap,
  type TestBootstrap,
} from './helpers.js';
import { lookupDirectory } from '../../protocol/index.js';
import { multiaddr } from '@multiformats/multiaddr';

let bootstrap: TestBootstrap;
let webRoot: string;

const SECURITY = {
  'content-security-policy': "frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

beforeAll(async () => {
  webRoot = await makeWebRoot({
    'index.html': '<!doctype html><title>token.place app</title><div id="app"></div>',
    'assets/index-abc123.js': 'console.log("app")',
    'assets/index-abc123.css': 'body{}',
    'favicon.svg': '<svg xmlns="http://www.w3.org/2000/svg"/>',
  });
  bootstrap = await startTestBootstrap({ webRoot });
});

afterAll(async () => {
  await bootstrap?.dispose();
  await rm(join(webRoot, '..'), { recursive: true, force: true });
});

const get = (path: string, init?: RequestInit): Promise<Response> =>
  fetch(`${bootstrap.httpUrl}${path}`, init);

describe('health and discovery', () => {
  it('GET /healthz reports status, PeerId, connections, reservations and directory size', async () => {
    const res = await get('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      status: 'ok',
      peerId: bootstrap.peerId,
      connections: expect.any(Number),
      reservations: 0,
      directory: 0,
    });
  });

  it('GET /bootstrap.json gives the PeerId and dialable WebSocket multiaddrs with /p2p', async () => {
    const res = await get('/bootstrap.json');
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const info = BootstrapInfo.parse(await res.json());
    expect(info.peerId).toBe(bootstrap.peerId);
    expect(info.multiaddrs.length).toBeGreaterThan(0);
    for (const addr of info.multiaddrs) {
      expect(addr).toMatch(
        new RegExp(`^/ip4/127\\.0\\.0\\.1/tcp/\\d+/ws/p2p/${bootstrap.peerId}$`),
      );
    }
    // A browser can actually dial it.
    const client = await startLightClient();
    try {
      const connection = await client.dial(multiaddr(info.multiaddrs[0]!));
      expect(connection.remotePeer.toString()).toBe(bootstrap.peerId);
    } finally {
      await client.stop();
    }
  });

  it('GET /metrics serves Prometheus text with libp2p and token.place metrics, each with HELP', async () => {
    // One directory lookup, so the lookup counter has a sample.
    const client = await startLightClient();
    try {
      expect(
        await lookupDirectory(client, multiaddr(bootstrap.addr), { model: 'nothing' }),
      ).toEqual([]);
    } finally {
      await client.stop();
    }
    const res = await get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    for (const name of [
      'tokenplace_directory_lookups_total',
      'tokenplace_directory_providers',
      'tokenplace_dht_routing_table_size',
      'tokenplace_relay_reservations',
      'tokenplace_relayed_bytes_total',
      'tokenplace_gateway_requests_total',
    ]) {
      expect(text).toMatch(new RegExp(`^# HELP ${name} \\S`, 'm'));
      expect(text).toMatch(new RegExp(`^# TYPE ${name} (counter|gauge)`, 'm'));
    }
    expect(text).toMatch(/^tokenplace_directory_lookups_total\{result="ok"\} 1$/m);
    expect(text).toMatch(/^tokenplace_directory_providers 0$/m);
    // libp2p's own metrics are in the same registry.
    expect(text).toMatch(/^libp2p_\w+/m);
    expect(text).toMatch(/^nodejs_\w+|^process_\w+/m);
  });
});

describe('static hosting of the web app', () => {
  it('serves index.html at / with security headers', async () => {
    const res = await get('/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await res.text()).toContain('token.place app');
    for (const [name, value] of Object.entries(SECURITY)) expect(res.headers.get(name)).toBe(value);
  });

  it('serves assets with their content types; hashed assets are cached for good', async () => {
    const js = await get('/assets/index-abc123.js');
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('cache-control')).toContain('immutable');
    expect(await js.text()).toBe('console.log("app")');
    const css = await get('/assets/index-abc123.css');
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    const svg = await get('/favicon.svg');
    expect(svg.headers.get('content-type')).toBe('image/svg+xml');
    expect(svg.headers.get('cache-control')).toBe('no-cache');
    const head = await get('/favicon.svg', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(
      String('<svg xmlns="http://www.w3.org/2000/svg"/>'.length),
    );
  });

  it('falls back to index.html for app routes, but not for missing files', async () => {
    const route = await get('/chat/some-conversation');
    expect(route.status).toBe(200);
    expect(await route.text()).toContain('token.place app');
    const missing = await get('/assets/missing.js');
    expect(missing.status).toBe(404);
    for (const [name, value] of Object.entries(SECURITY))
      expect(missing.headers.get(name)).toBe(value);
  });

  it('never serves files outside the web root', async () => {
    // Raw paths: fetch() would normalize the dot segments away before sending.
    const raw = (path: string): Promise<string> =>
      new Promise((resolve, reject) => {
        const url = new URL(bootstrap.httpUrl);
        httpRequest({ host: url.hostname, port: url.port, path }, (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve(text));
        })
          .on('error', reject)
          .end();
      });
    // A file right next to the web root.
    await writeFile(join(webRoot, '..', 'package.json'), '{"name":"secret"}');
    for (const path of [
      '/../package.json',
      '/assets/../../package.json',
      '/%2e%2e/package.json',
      '/assets/..%2f..%2fpackage.json',
      '/..%5cpackage.json',
    ]) {
      expect(await raw(path)).not.toContain('secret');
    }
  });

  it('API paths get OpenAI-shaped 404s, not the web app', async () => {
    const res = await get('/v1/no-such-endpoint');
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      error: {
        message: expect.any(String),
        type: 'invalid_request_error',
        param: null,
        code: 'unknown_url',
      },
    });
  });

  it('says how to build the app when it is not built', async () => {
    await rm(join(webRoot, 'index.html'));
    const res = await get('/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const text = await res.text();
    expect(text).toContain('npm run build');
    expect(text).toContain('--web-root');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
  });
});
