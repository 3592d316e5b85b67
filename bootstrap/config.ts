/**
 * `token.place bootstrap` configuration: read once from flags, then environment
 * variables, then a JSON config file (`--config`, `TOKENPLACE_BOOTSTRAP_CONFIG`), then
 * defaults; validated, with errors that name the flag, the variable or the file and key.
 * Nothing deeper in bootstrap/ reads `process.env`.
 *
 * Role-specific variables are `TOKENPLACE_BOOTSTRAP_*` (so a shell that also configures
 * a node never crosses them); the data folder and log level share the node's
 * `TOKENPLACE_DATA_DIR` and `TOKENPLACE_LOG_LEVEL`.
 */
import { readFileSync } from 'node:fs';
import { multiaddr } from '@multiformats/multiaddr';
import { WebSockets, WebSocketsSecure } from '@multiformats/multiaddr-matcher';
import {
  ConfigError,
  configOption,
  formatHelp,
  parseOptionsWithConfig,
  type OptionDefs,
  type OptionValues,
} from '../protocol/index.js';
import { defaultDataDir } from './paths.js';

/** `host:port`, `[v6]:port` or a bare `port`. */
export interface HostPort {
  host: string;
  port: number;
}

const DEFAULT_HTTP_HOST = '0.0.0.0';

/** Parses `--http`: `8080`, `127.0.0.1:8080`, `[::1]:8080`; throws `ConfigError`. */
export function parseHostPort(text: string, defaultHost = DEFAULT_HTTP_HOST): HostPort {
  const match = /^(?:(\[[0-9A-Fa-f:.]+\]|[^:[\]]+):)?(\d{1,5})$/.exec(text.trim());
  const port = match == null ? NaN : Number(match[2]);
  if (match == null || port > 65_535) {
    throw new ConfigError(
      `expected [host:]port such as 8080, 127.0.0.1:8080 or [::]:8080, got ${JSON.stringify(text)}`,
    );
  }
  const host = match[1] == null ? defaultHost : match[1].replace(/^\[|\]$/g, '');
  return { host, port };
}

function checkMultiaddrs(kind: 'listen' | 'announce') {
  return (values: string[]): string | undefined => {
    for (const text of values) {
      let ma;
      try {
        ma = multiaddr(text);
      } catch {
        return `${JSON.stringify(text)} is not a multiaddr (e.g. /ip4/0.0.0.0/tcp/9090/ws)`;
      }
      if (ma.getComponents().some((c) => c.name === 'p2p')) {
        return `${text}: leave out /p2p/<peerId>; the bootstrap adds its own`;
      }
      if (!WebSockets.exactMatch(ma) && !WebSocketsSecure.exactMatch(ma)) {
        return kind === 'listen'
          ? `${text}: the bootstrap listens on WebSockets only (/ip4/<addr>/tcp/<port>/ws)`
          : `${text}: announce a WebSocket address browsers can dial (/dns4/<host>/tcp/443/wss)`;
      }
    }
    return undefined;
  };
}

export const BOOTSTRAP_OPTIONS = {
  config: configOption('TOKENPLACE_BOOTSTRAP_CONFIG'),
  listen: {
    type: 'list',
    placeholder: '<multiaddr>',
    default: ['/ip4/0.0.0.0/tcp/9090/ws'],
    env: 'TOKENPLACE_BOOTSTRAP_LISTEN',
    check: checkMultiaddrs('listen'),
    description: 'libp2p WebSocket address to listen on (repeatable; port 0 picks a free one)',
  },
  announce: {
    type: 'list',
    placeholder: '<multiaddr>',
    env: 'TOKENPLACE_BOOTSTRAP_ANNOUNCE',
    check: checkMultiaddrs('announce'),
    description:
      'public address to announce instead of the listen addresses, e.g. /dns4/relay.example.org/tcp/443/wss behind a TLS reverse proxy (repeatable)',
  },
  peer: {
    type: 'list',
    placeholder: '<multiaddr>',
    env: 'TOKENPLACE_BOOTSTRAP_PEER',
    check: (values: string[]) => {
      for (const text of values) {
        try {
          if (multiaddr(text).getComponents().at(-1)?.name !== 'p2p') {
            return `${text}: end it with /p2p/<peerId> of that bootstrap (its banner and /bootstrap.json show it)`;
          }
        } catch {
          return `${JSON.stringify(text)} is not a multiaddr (e.g. /dns4/relay2.example.org/tcp/443/wss/p2p/12D3KooW…)`;
        }
      }
      return undefined;
    },
    description:
      'another bootstrap to stay connected to, so the private DHT spans both (repeatable; with /p2p/<peerId>)',
  },
  http: {
    type: 'string',
    placeholder: '[host:]port',
    default: `${DEFAULT_HTTP_HOST}:8080`,
    env: 'TOKENPLACE_BOOTSTRAP_HTTP',
    check: (value: string) => {
      try {
        parseHostPort(value);
        return undefined;
      } catch (err) {
        return (err as Error).message;
      }
    },
    description:
      'HTTP address of the web app, the OpenAI gateway, /bootstrap.json, /healthz and /metrics; port 0 picks a free one',
  },
  webRoot: {
    type: 'string',
    placeholder: '<dir>',
    env: 'TOKENPLACE_BOOTSTRAP_WEB_ROOT',
    description: 'serve the web app from this folder (default: the built dist/browser/)',
  },
  dataDir: {
    type: 'string',
    placeholder: '<dir>',
    env: 'TOKENPLACE_DATA_DIR',
    description:
      'where bootstrap-identity.key lives (default: the platform data folder, shared with the node)',
  },
  maxReservations: {
    type: 'integer',
    placeholder: '<n>',
    min: 1,
    max: 100_000,
    default: 128,
    env: 'TOKENPLACE_BOOTSTRAP_MAX_RESERVATIONS',
    description:
      'circuit relay reservations held at once: one per inference node reachable through this relay',
  },
  reservationTtl: {
    type: 'integer',
    placeholder: '<seconds>',
    min: 60,
    max: 86_400,
    default: 7_200,
    env: 'TOKENPLACE_BOOTSTRAP_RESERVATION_TTL',
    description: 'how long a reservation lasts before its node must refresh it',
  },
  relayDurationLimit: {
    type: 'integer',
    placeholder: '<seconds>',
    min: 1,
    max: 86_400,
    default: 120,
    env: 'TOKENPLACE_BOOTSTRAP_RELAY_DURATION_LIMIT',
    description:
      "longest life of one relayed connection (libp2p's default; relayed connections only carry WebRTC signalling)",
  },
  relayDataLimit: {
    type: 'integer',
    placeholder: '<bytes>',
    min: 1_024,
    max: 1_099_511_627_776,
    default: 131_072,
    env: 'TOKENPLACE_BOOTSTRAP_RELAY_DATA_LIMIT',
    description: "most bytes one relayed connection may carry, both ways (libp2p's default)",
  },
  maxConnections: {
    type: 'integer',
    placeholder: '<n>',
    min: 1,
    max: 1_000_000,
    default: 1_000,
    env: 'TOKENPLACE_BOOTSTRAP_MAX_CONNECTIONS',
    description: 'libp2p connections (nodes, browsers, other bootstraps) before pruning starts',
  },
  maxConnectionRatePerIp: {
    type: 'integer',
    placeholder: '<n>',
    min: 1,
    max: 100_000,
    default: 25,
    env: 'TOKENPLACE_BOOTSTRAP_MAX_CONNECTION_RATE_PER_IP',
    description:
      'new inbound connections per second accepted from one IP address; many users can share one IP behind NAT or CGNAT, so keep it generous',
  },
  maxPendingConnections: {
    type: 'integer',
    placeholder: '<n>',
    min: 1,
    max: 100_000,
    default: 64,
    env: 'TOKENPLACE_BOOTSTRAP_MAX_PENDING_CONNECTIONS',
    description: 'inbound connections still in their handshake at once',
  },
  allowPrivateAddresses: {
    type: 'boolean',
    env: 'TOKENPLACE_BOOTSTRAP_ALLOW_PRIVATE_ADDRESSES',
    description:
      'keep private and loopback addresses in DHT records and directory answers (LAN or loopback meshes only)',
  },
  plainGateway: {
    type: 'boolean',
    default: true,
    env: 'TOKENPLACE_BOOTSTRAP_PLAIN_GATEWAY',
    description:
      'serve plain-mode OpenAI requests, in which this bootstrap sees prompts and answers; --no-plain-gateway leaves only encrypted mode',
  },
  logLevel: {
    type: 'string',
    placeholder: '<level>',
    choices: ['error', 'info', 'debug', 'trace'],
    default: 'info',
    env: 'TOKENPLACE_LOG_LEVEL',
    description:
      'error: problems only; info: plus one line per gateway request and node joining or leaving; debug/trace: diagnostics (never prompts, answers or keys)',
  },
} as const satisfies OptionDefs;

export type BootstrapConfig = Omit<OptionValues<typeof BOOTSTRAP_OPTIONS>, 'dataDir'> & {
  dataDir: string;
};

export function loadBootstrapConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): BootstrapConfig {
  const values = parseOptionsWithConfig(BOOTSTRAP_OPTIONS, {
    argv,
    env,
    readFile: (path) => readFileSync(path, 'utf8'),
  });
  return { ...values, dataDir: values.dataDir ?? defaultDataDir(env) };
}

export function bootstrapHelp(): string {
  return formatHelp(BOOTSTRAP_OPTIONS, {
    summary:
      'token.place bootstrap: a relay and directory for the mesh, serving the web chat and an OpenAI gateway',
    usage: 'token.place bootstrap [options]',
    examples: [
      'token.place bootstrap                                   # libp2p on :9090 (ws), HTTP on :8080',
      'token.place bootstrap --announce /dns4/relay.example.org/tcp/443/wss',
      'token.place bootstrap --listen /ip4/127.0.0.1/tcp/9090/ws --http 127.0.0.1:8080 --allow-private-addresses',
      'token.place bootstrap --no-plain-gateway --max-reservations 512',
      'token.place bootstrap --config /etc/token.place/bootstrap.json',
    ],
    footer:
      'Operators: see docs/OPERATOR.md (TLS through a reverse proxy, limits, metrics, backups).',
  });
}
