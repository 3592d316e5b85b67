/**
 * The browser's door to the mesh. The chat UI only ever uses what this module exports:
 * the {@link MeshClient} interface (see `types.ts`), {@link createMeshClient}, and the
 * bootstrap lookup.
 *
 * The client is the page's own libp2p peer (WebSockets to the bootstrap, WebRTC to the
 * nodes through circuit-relay signalling, see `libp2p.ts`) speaking token.place's
 * protocols through protocol/ (directory, node info, HPKE-sealed inference; see
 * `client.ts`).
 *
 * @example
 * ```ts
 * import { createMeshClient, resolveBootstrap } from './lib/mesh/index.js';
 *
 * const { multiaddrs, allowPrivateAddresses } = await resolveBootstrap(window.location, { signal });
 * const client = await createMeshClient({ bootstrap: multiaddrs, allowPrivateAddresses, signal });
 * client.subscribe((state) => render(state.kind));
 * for await (const update of client.chat({ model, messages }, { signal })) render(update);
 * ```
 */
import type { MeshClient, MeshModel } from './types.js';
import type { BackoffPolicy } from './updates.js';
import { MeshUnavailableError } from './errors.js';

export type * from './types.js';
export { BootstrapError, MeshOfflineError, MeshUnavailableError } from './errors.js';
export {
  BOOTSTRAP_JSON_PATH,
  BOOTSTRAP_QUERY_PARAM,
  fetchBootstrapInfo,
  fetchBootstrapMultiaddrs,
  looksLikeMultiaddr,
  parseBootstrapJson,
  resolveBootstrap,
} from './bootstrap.js';
export type { BootstrapJson, BootstrapOptions, ResolvedBootstrap } from './bootstrap.js';
export type { BackoffPolicy } from './updates.js';

export interface MeshClientOptions {
  /** Bootstrap/relay multiaddrs to dial first (from {@link resolveBootstrap}), with `/p2p/<peerId>`. */
  bootstrap: string[];
  /**
   * A loopback or LAN mesh: dial `ws://` and private addresses and use no STUN server.
   * Only when the page's bootstrap announces it, or in a dev/test build.
   *
   * @default false
   */
  allowPrivateAddresses?: boolean;
  /**
   * The directory snapshot from the page's bootstrap (`providers` in `/bootstrap.json`),
   * unchecked: the client keeps the providers whose signed cards verify, lists their
   * models at once and can dial one before the relay connection is up.
   */
  directory?: unknown;
  /**
   * Picks the model the page starts on from the models the snapshot lists: the client
   * dials its best node at once, ahead of the relay when it can reach that node directly.
   */
  prepare?: (known: MeshModel[]) => string | null;
  /** The reconnect schedule. @default 0.5 s doubling to 8 s, then every 30 s once offline */
  backoff?: BackoffPolicy;
  /** Aborts start-up (creating the libp2p peer); the client's own lifetime ends with `close()`. */
  signal?: AbortSignal;
}

/** Starts loading the mesh client's code (its own chunk) ahead of {@link createMeshClient}. */
export function preloadMeshClient(): void {
  import('./client.js').catch(() => {
    // createMeshClient reports the failure when it is called.
  });
}

/**
 * Creates the browser's mesh client. It resolves as soon as the peer exists; dialling the
 * bootstrap happens in the background and shows up as `ConnectionState` updates.
 *
 * @throws {BootstrapError} when a bootstrap multiaddr is unusable (no `/p2p/<peerId>`).
 * @throws {MeshUnavailableError} when this browser cannot run the libp2p peer.
 */
export async function createMeshClient(options: MeshClientOptions): Promise<MeshClient> {
  options.signal?.throwIfAborted();
  try {
    // A chunk of its own (libp2p, WebRTC, Noise, yamux, HPKE: most of the bytes), so the
    // page paints while it loads.
    const { createLibP2PMeshClient } = await import('./client.js');
    return await createLibP2PMeshClient({
      bootstrap: options.bootstrap,
      allowPrivateAddresses: options.allowPrivateAddresses === true,
      ...(options.directory !== undefined ? { directory: options.directory } : {}),
      ...(options.prepare != null ? { prepare: options.prepare } : {}),
      ...(options.backoff != null ? { backoff: options.backoff } : {}),
      ...(options.signal != null ? { signal: options.signal } : {}),
    });
  } catch (err) {
    if (options.signal?.aborted === true) throw err;
    if (err instanceof Error && (err.name === 'BootstrapError' || err.name === 'AbortError')) {
      throw err;
    }
    throw new MeshUnavailableError(
      `this browser cannot join the mesh: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
}
