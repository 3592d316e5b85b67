// Finding the bootstrap node: ?bootstrap=<multiaddr>, else GET /bootstrap.json on the origin.
import { describe, expect, it } from 'vitest';
import {
  BootstrapError,
  createMeshClient,
  fetchBootstrapMultiaddrs,
  resolveBootstrap,
} from '../../browser/src/lib/mesh/index.js';

const ADDR = '/ip4/192.0.2.7/tcp/9091/ws/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo';

function fakeFetch(respond: (url: string) => Response | Promise<Response>): {
  fetch: typeof fetch;
  urls: string[];
} {
  const urls: string[] = [];
  const fetchFn = (async (input: RequestInfo | URL) => {
    const url = String(input);
    urls.push(url);
    return respond(url);
  }) as typeof fetch;
  return { fetch: fetchFn, urls };
}

const json = (body: unknown, status = 200): Response =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

describe('resolveBootstrap', () => {
  it('uses ?bootstrap= when present (repeatable), without fetching', async () => {
    const { fetch, urls } = fakeFetch(() => json({ multiaddrs: ['/ip4/0.0.0.0/tcp/1/ws'] }));
    const other = '/dns4/relay.example/tcp/443/wss';
    const result = await resolveBootstrap(
      {
        search: `?bootstrap=${encodeURIComponent(ADDR)}&bootstrap=${encodeURIComponent(other)}`,
        origin: 'http://127.0.0.1:8080',
      },
      { fetch },
    );
    expect(result).toEqual({
      multiaddrs: [ADDR, other],
      source: 'query',
      allowPrivateAddresses: false,
    });
    expect(urls).toEqual([]);
  });

  it('rejects a ?bootstrap= that is not a multiaddr, clearly', async () => {
    await expect(
      resolveBootstrap({ search: '?bootstrap=http://x', origin: 'http://127.0.0.1:8080' }),
    ).rejects.toThrow(/must be a multiaddr/);
  });

  it('otherwise fetches <origin>/bootstrap.json', async () => {
    const { fetch, urls } = fakeFetch(() => json({ multiaddrs: [ADDR] }));
    const result = await resolveBootstrap(
      { search: '', origin: 'http://192.0.2.7:8080' },
      { fetch },
    );
    expect(result).toEqual({ multiaddrs: [ADDR], source: 'origin', allowPrivateAddresses: false });
    expect(urls).toEqual(['http://192.0.2.7:8080/bootstrap.json']);
  });

  it('takes allowPrivateAddresses from the bootstrap that served the page, only when true', async () => {
    for (const [flag, expected] of [
      [true, true],
      [false, false],
      ['yes', false],
    ] as const) {
      const { fetch } = fakeFetch(() =>
        json({ peerId: 'x', multiaddrs: [ADDR], allowPrivateAddresses: flag }),
      );
      const result = await resolveBootstrap(
        { search: '', origin: 'http://127.0.0.1:8080' },
        { fetch },
      );
      expect(result.allowPrivateAddresses).toBe(expected);
    }
  });

  it('a ?bootstrap= link never relaxes the browser defaults', async () => {
    const { fetch, urls } = fakeFetch(() =>
      json({ multiaddrs: [ADDR], allowPrivateAddresses: true }),
    );
    const result = await resolveBootstrap(
      { search: `?bootstrap=${encodeURIComponent(ADDR)}`, origin: 'http://127.0.0.1:8080' },
      { fetch },
    );
    expect(result.allowPrivateAddresses).toBe(false);
    expect(urls).toEqual([]);
  });

  it('refuses an origin that is not http(s), e.g. a file opened from disk', async () => {
    await expect(resolveBootstrap({ search: '', origin: 'null' })).rejects.toThrow(
      /\?bootstrap=<multiaddr>/,
    );
  });
});

describe('fetchBootstrapMultiaddrs errors', () => {
  const origin = 'http://192.0.2.7:8080';

  it('HTTP errors name the URL and status', async () => {
    const { fetch } = fakeFetch(
      () => new Response('nope', { status: 404, statusText: 'Not Found' }),
    );
    const error = await fetchBootstrapMultiaddrs(origin, { fetch }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BootstrapError);
    expect((error as Error).name).toBe('BootstrapError');
    expect((error as Error).message).toBe(
      'The bootstrap node at http://192.0.2.7:8080/bootstrap.json answered HTTP 404 Not Found.',
    );
  });

  it('network failures say the node could not be reached', async () => {
    const { fetch } = fakeFetch(() => Promise.reject(new TypeError('Failed to fetch')));
    await expect(fetchBootstrapMultiaddrs(origin, { fetch })).rejects.toThrow(
      'Could not reach the bootstrap node at http://192.0.2.7:8080/bootstrap.json: Failed to fetch.',
    );
  });

  it('a hung server times out', async () => {
    const hung = ((_: RequestInfo | URL, init?: RequestInit) =>
      new Promise<Response>((_resolve, reject) => {
        init?.signal?.addEventListener('abort', () =>
          reject(new DOMException('aborted', 'AbortError')),
        );
      })) as typeof globalThis.fetch;
    await expect(fetchBootstrapMultiaddrs(origin, { fetch: hung, timeoutMs: 20 })).rejects.toThrow(
      /timed out/,
    );
  });

  it('bad JSON, a wrong shape and an empty list are each explained', async () => {
    const cases: Array<[Response, RegExp]> = [
      [new Response('<html>', { status: 200 }), /did not send valid JSON/],
      [json({ addrs: [ADDR] }), /expected \{ "multiaddrs"/],
      [json({ multiaddrs: [1, 2] }), /expected \{ "multiaddrs"/],
      [json({ multiaddrs: [] }), /announces no multiaddrs/],
      [json({ multiaddrs: ['not-a-multiaddr'] }), /announces no multiaddrs/],
    ];
    for (const [response, message] of cases) {
      const { fetch } = fakeFetch(() => response);
      await expect(fetchBootstrapMultiaddrs(origin, { fetch })).rejects.toThrow(message);
    }
  });

  it("the caller's abort is passed through as is, not dressed up as a bootstrap error", async () => {
    const controller = new AbortController();
    const hung = ((_: RequestInfo | URL, init?: RequestInit) =>
      new Promise<Response>((_resolve, reject) => {
        init?.signal?.addEventListener('abort', () =>
          reject(new DOMException('stop', 'AbortError')),
        );
      })) as typeof globalThis.fetch;
    const pending = fetchBootstrapMultiaddrs(origin, { fetch: hung, signal: controller.signal });
    controller.abort();
    const error = await pending.catch((e: unknown) => e);
    expect((error as Error).name).toBe('AbortError');
  });
});

describe('createMeshClient', () => {
  it('refuses a bootstrap address that does not name its peer, clearly', async () => {
    const error = await createMeshClient({ bootstrap: ['/ip4/192.0.2.7/tcp/9091/ws'] }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BootstrapError);
    expect((error as Error).message).toMatch(/must end in \/p2p\/<peer id>/);
    await expect(createMeshClient({ bootstrap: [] })).rejects.toThrow(/No bootstrap/);
  });

  it('an aborted start-up rejects with the abort, not a mesh error', async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await createMeshClient({ bootstrap: [ADDR], signal: controller.signal }).catch(
      (e: unknown) => e,
    );
    expect((error as Error).name).toBe('AbortError');
  });
});
