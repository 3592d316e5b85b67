/**
 * The page's one mesh client and its connection state.
 *
 * `start()` runs the app's `connect` function (resolve the bootstrap, create the
 * client); if that fails the error is kept for the UI, which offers "Try again".
 * Once a client exists, reconnecting is its own business: we only mirror its
 * `ConnectionState`.
 */
import type { ConnectionState, MeshClient } from '../mesh/index.js';

/** Creates the page's mesh client; `signal` aborts start-up. */
export type ConnectFn = (signal: AbortSignal) => Promise<MeshClient>;

/** What the status indicator shows. */
export type ConnectionStatus = ConnectionState['kind'];

export interface StartError {
  /** The error's `name` (`MeshUnavailableError`, `BootstrapError`, …). */
  name: string;
  message: string;
}

export class MeshConnection {
  client = $state.raw<MeshClient | null>(null);
  state = $state.raw<ConnectionState | null>(null);
  starting = $state(false);
  startError = $state.raw<StartError | null>(null);

  readonly status: ConnectionStatus = $derived(
    this.state?.kind ?? (this.startError == null ? 'connecting' : 'offline'),
  );
  readonly online = $derived(this.state?.kind === 'online');

  readonly #connect: ConnectFn;
  #controller: AbortController | null = null;
  #unsubscribe: (() => void) | null = null;

  constructor(connect: ConnectFn) {
    this.#connect = connect;
  }

  /** Creates the client (again, after a failure). Resolves once it exists or failed. */
  async start(): Promise<void> {
    if (this.client != null) return;
    this.#controller?.abort();
    const controller = new AbortController();
    this.#controller = controller;
    this.starting = true;
    this.startError = null;
    try {
      const client = await this.#connect(controller.signal);
      if (controller.signal.aborted) {
        void client.close().catch(() => {});
        return;
      }
      this.client = client;
      this.state = client.state;
      this.#unsubscribe = client.subscribe((state) => {
        this.state = state;
      });
    } catch (err) {
      if (controller.signal.aborted) return;
      this.startError = {
        name: err instanceof Error ? err.name : 'Error',
        message: err instanceof Error && err.message !== '' ? err.message : String(err),
      };
    } finally {
      if (this.#controller === controller) {
        this.#controller = null;
        this.starting = false;
      }
    }
  }

  async close(): Promise<void> {
    this.#controller?.abort();
    this.#controller = null;
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    const client = this.client;
    this.client = null;
    this.state = null;
    await client?.close();
  }
}
