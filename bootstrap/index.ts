/**
 * bootstrap/: the relay and directory node an operator runs (`token.place bootstrap`).
 *
 * - `libp2p`: WebSockets listener, Noise + yamux, identify, ping, circuit relay v2 server
 *   with limits, the private Kad-DHT in server mode
 * - `directory`: `/tokenplace/directory/1.0.0`, the nodes this bootstrap knows with
 *   their own signed model cards
 * - `http/`: the web chat, `/bootstrap.json`, `/healthz`, `/metrics` and the OpenAI
 *   gateway (plain and encrypted mode)
 * - `config`, `main`: the command line; `bootstrap`: start and stop, for the CLI, tests
 *   and `token.place start`
 *
 * Imports `protocol/` and libraries only.
 *
 * @example
 * ```ts
 * import { loadBootstrapConfig, startBootstrap } from './bootstrap/index.js';
 * const bootstrap = await startBootstrap(loadBootstrapConfig(['--http', '127.0.0.1:0'], process.env));
 * console.log(bootstrap.multiaddrs, `${bootstrap.httpUrl}/v1`);
 * await bootstrap.stop();
 * ```
 */
export {
  BootstrapStartError,
  startBootstrap,
  type RunningBootstrap,
  type StartBootstrapOptions,
} from './bootstrap.js';
export {
  BOOTSTRAP_OPTIONS,
  bootstrapHelp,
  loadBootstrapConfig,
  parseHostPort,
  type BootstrapConfig,
  type HostPort,
} from './config.js';
export { Directory, type DirectoryChange, type DirectoryEntry } from './directory.js';
export type { GatewayRequestRecord } from './http/gateway.js';
export { runBootstrapCommand } from './main.js';
export type { Tap, TapDirection, TapSource } from './tap.js';
