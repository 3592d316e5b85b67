/**
 * Where the browser finds the mesh.
 *
 * 1. `?bootstrap=<multiaddr>` in the page URL (repeatable) wins, so a page can point at
 *    any bootstrap node: `https://app.example/?bootstrap=/dns4/relay.example/tcp/443/wss`.
 * 2. Otherwise the page was served by a bootstrap node over HTTP. Its libp2p WebSocket
 *    listener is on another port, which it announces at `GET /bootstrap.json`:
 *    `{ "multiaddrs": ["/ip4/192.0.2.1/tcp/9091/ws/p2p/12D3Koo…"] }`. A bootstrap that
 *    runs a loopback or LAN mesh (`--allow-private-addresses`) adds
 *    `"allowPrivateAddresses": true`, which lets the page dial `ws://` and private
 *    addresses; a `?bootstrap=` link never can.
 *
 * @example
 * ```ts
 * const { multiaddrs } = await resolveBootstrap(window.location, { signal });
 * ```
 */
import { BootstrapError } from './errors.js';

/** The bootstrap node's announcement, served at {@link BOOTSTRAP_JSON_PATH}. */
export interface BootstrapJson {
  multiaddrs: string[];
  /** The mesh runs on loopback or a LAN: dial `ws://` and private addresses. */
  allowPrivateAddresses?: boolean;
  /**
   * The bootstrap's directory when it served the page: the nodes with their own signed
   * cards and key records. Checked by the mesh client (signatures against each node's
   * PeerId) before use.
   */
  providers?: unknown;
}

export interface ResolvedBootstrap {
  multiaddrs: string[];
  /** `query`: from `?bootstrap=`; `origin`: announced by the page's own origin. */
  source: 'query' | 'origin';
  /** True only when the page's own bootstrap announced a loopback/LAN mesh. */
  allowPrivateAddresses: boolean;
  /** The directory snapshot the page's own bootstrap sent, unchecked (see {@link BootstrapJson}). */
  directory?: unknown;
}

export interface BootstrapOptions {
  signal?: AbortSignal;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  /**
   * Give up on `/bootstrap.json` after this long.
   *
   * @default 10_000
   */
  timeoutMs?: number;
}

export const BOOTSTRAP_JSON_PATH = '/bootstrap.json';
export const BOOTSTRAP_QUERY_PARAM = 'bootstrap';
const DEFAULT_TIMEOUT_MS = 10_000;
/** A bootstrap.json larger than this is not a bootstrap.json. */
const MAX_MULTIADDRS = 32;

/** True for strings shaped like a multiaddr (`/ip4/…`, `/dns4/…`); full parsing is libp2p's job. */
export function looksLikeMultiaddr(value: string): boolean {
  return /^\/[a-z0-9-]+\/\S+$/i.test(value);
}

/** The bootstrap multiaddrs for this page: from `?bootstrap=`, else from its origin. */
export async function resolveBootstrap(
  location: Pick<Location, 'search' | 'origin'>,
  options: BootstrapOptions = {},
): Promise<ResolvedBootstrap> {
  const fromQuery = new URLSearchParams(location.search)
    .getAll(BOOTSTRAP_QUERY_PARAM)
    .map((value) => value.trim())
    .filter((value) => value !== '');
  if (fromQuery.length > 0) {
    const bad = fromQuery.find((value) => !looksLikeMultiaddr(value));
    if (bad != null) {
      throw new BootstrapError(
        `?${BOOTSTRAP_QUERY_PARAM}= must be a multiaddr such as /dns4/relay.example/tcp/443/wss, not "${bad}".`,
      );
    }
    return { multiaddrs: fromQuery, source: 'query', allowPrivateAddresses: false };
  }
  if (!/^https?:\/\//.test(location.origin)) {
    throw new BootstrapError(
      `Open token.place from a bootstrap node's web address, or add ?${BOOTSTRAP_QUERY_PARAM}=<multiaddr> to the URL.`,
    );
  }
  const info = await fetchBootstrapInfo(location.origin, options);
  return { ...info, source: 'origin' };
}

/** Fetches `<origin>/bootstrap.json` and returns its multiaddrs, or throws a {@link BootstrapError}. */
export async function fetchBootstrapMultiaddrs(
  origin: string,
  options: BootstrapOptions = {},
): Promise<string[]> {
  return (await fetchBootstrapInfo(origin, options)).multiaddrs;
}

/** Fetches and validates `<origin>/bootstrap.json`, or throws a {@link BootstrapError}. */
export async function fetchBootstrapInfo(
  origin: string,
  options: BootstrapOptions = {},
): Promise<{ multiaddrs: string[]; allowPrivateAddresses: boolean; directory?: unknown }> {
  const url = new URL(BOOTSTRAP_JSON_PATH, origin).href;
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const signal = anySignal([options.signal, timeout.signal]);

  let response: Response;
  try {
    response = await doFetch(url, {
      signal,
      cache: 'no-store',
      headers: { accept: 'application/json' },
    });
  } catch (err) {
    clearTimeout(timer);
    if (options.signal?.aborted === true) throw err;
    const why = timeout.signal.aborted ? 'timed out' : errorMessage(err);
    throw new BootstrapError(`Could not reach the bootstrap node at ${url}: ${why}.`, {
      cause: err,
    });
  }

  try {
    if (!response.ok) {
      throw new BootstrapError(
        `The bootstrap node at ${url} answered HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}.`,
      );
    }
    let body: unknown;
    try {
      body = await response.json();
    } catch (err) {
      if (options.signal?.aborted === true) throw err;
      throw new BootstrapError(`The bootstrap node at ${url} did not send valid JSON.`, {
        cause: err,
      });
    }
    const { allowPrivateAddresses, providers } = body as Partial<BootstrapJson>;
    return {
      multiaddrs: parseBootstrapJson(body, url),
      allowPrivateAddresses: allowPrivateAddresses === true,
      ...(providers !== undefined ? { directory: providers } : {}),
    };
  } finally {
    clearTimeout(timer);
  }
}

/** Validates a bootstrap.json body. `url` only serves the error message. */
export function parseBootstrapJson(body: unknown, url = BOOTSTRAP_JSON_PATH): string[] {
  const multiaddrs =
    typeof body === 'object' && body != null ? (body as Partial<BootstrapJson>).multiaddrs : null;
  if (
    !Array.isArray(multiaddrs) ||
    multiaddrs.length > MAX_MULTIADDRS ||
    !multiaddrs.every((m): m is string => typeof m === 'string')
  ) {
    throw new BootstrapError(
      `The bootstrap node at ${url} sent an unexpected answer: expected { "multiaddrs": ["/ip4/…/ws/p2p/…"] }.`,
    );
  }
  const usable = multiaddrs.filter(looksLikeMultiaddr);
  if (usable.length === 0) {
    throw new BootstrapError(`The bootstrap node at ${url} announces no multiaddrs to dial.`);
  }
  return usable;
}

function anySignal(signals: Array<AbortSignal | undefined>): AbortSignal {
  const controller = new AbortController();
  for (const signal of signals) {
    if (signal == null) continue;
    if (signal.aborted) {
      controller.abort(signal.reason);
      break;
    }
    signal.addEventListener('abort', () => controller.abort(signal.reason), { once: true });
  }
  return controller.signal;
}

function errorMessage(err: unknown): string {
  return err instanceof Error && err.message !== '' ? err.message : String(err);
}
