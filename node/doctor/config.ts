/**
 * `token.place doctor` configuration. The settings it checks are the node's own (same
 * flags, same `TOKENPLACE_*` variables, and `--config` reads a node config file), plus
 * the bootstrap's ports when given and the doctor's own `--json` and `--timeout`.
 */
import { readFileSync } from 'node:fs';
import {
  ConfigError,
  configOption,
  formatHelp,
  parseOptions,
  readConfigFile,
  type OptionDefs,
  type OptionValues,
} from '../../protocol/index.js';
import { NODE_OPTIONS } from '../config.js';
import { defaultDataDir } from '../paths.js';

/** The node settings the doctor checks, taken as they are from the node's option table. */
const CHECKED_NODE_OPTIONS = [
  'model',
  'dataDir',
  'apiHost',
  'apiPort',
  'threads',
  'maxConcurrency',
  'contextSize',
  'gpu',
  'bootstrap',
] as const;

export const DOCTOR_OPTIONS = {
  config: {
    ...configOption('TOKENPLACE_CONFIG'),
    description:
      "check the settings of this node config file (what 'token.place node --config' reads); flags and environment variables win over it",
  },
  model: NODE_OPTIONS.model,
  dataDir: NODE_OPTIONS.dataDir,
  apiHost: NODE_OPTIONS.apiHost,
  apiPort: NODE_OPTIONS.apiPort,
  threads: NODE_OPTIONS.threads,
  maxConcurrency: NODE_OPTIONS.maxConcurrency,
  contextSize: NODE_OPTIONS.contextSize,
  gpu: NODE_OPTIONS.gpu,
  bootstrap: {
    ...NODE_OPTIONS.bootstrap,
    description:
      'a bootstrap the node joins (repeatable): the doctor dials it over libp2p and checks its PeerId',
  },
  bootstrapListen: {
    type: 'list',
    placeholder: '<multiaddr>',
    env: 'TOKENPLACE_BOOTSTRAP_LISTEN',
    description:
      "a bootstrap's libp2p listen address on this machine (repeatable): check that its port is free",
  },
  bootstrapHttp: {
    type: 'string',
    placeholder: '[host:]port',
    env: 'TOKENPLACE_BOOTSTRAP_HTTP',
    check: (value: string) => {
      try {
        parseHostPort(value);
        return undefined;
      } catch (err) {
        return (err as Error).message;
      }
    },
    description: "a bootstrap's HTTP address on this machine: check that its port is free",
  },
  timeout: {
    type: 'number',
    placeholder: '<seconds>',
    min: 0.1,
    max: 120,
    default: 5,
    env: 'TOKENPLACE_DOCTOR_TIMEOUT',
    description: 'how long each bootstrap may take to answer',
  },
  json: {
    type: 'boolean',
    env: false,
    description: 'print the report as JSON (stable field names; see docs/NODE.md)',
  },
} as const satisfies OptionDefs;

export type DoctorConfig = Omit<OptionValues<typeof DOCTOR_OPTIONS>, 'dataDir'> & {
  dataDir: string;
};

/**
 * Parses the doctor's flags and environment; a `--config` file is validated as a node
 * config file (every key, as `token.place node` would), and the settings the doctor
 * checks are taken from it. Throws `ConfigError`.
 */
export function loadDoctorConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): DoctorConfig {
  const first = parseOptions(DOCTOR_OPTIONS, { argv, env });
  let values = first;
  if (first.config != null) {
    const path = first.config;
    const file = readConfigFile(path, (p) => readFileSync(p, 'utf8'));
    // The whole file must be a valid node config…
    parseOptions(NODE_OPTIONS, { argv: [], env: {}, file, fileName: path });
    // …and the doctor reads the settings it checks (flags and environment still win).
    const checked = new Set<string>(CHECKED_NODE_OPTIONS);
    const relevant = Object.fromEntries(
      Object.entries(file).filter(([key]) =>
        checked.has(key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())),
      ),
    );
    values = parseOptions(DOCTOR_OPTIONS, { argv, env, file: relevant, fileName: path });
  }
  return { ...values, dataDir: values.dataDir ?? defaultDataDir(env) };
}

/** `8080`, `127.0.0.1:8080`, `[::1]:8080` (the bootstrap's `--http` syntax). Throws `ConfigError`. */
export function parseHostPort(text: string): { host: string; port: number } {
  const match = /^(?:(\[[0-9A-Fa-f:.]+\]|[^:[\]]+):)?(\d{1,5})$/.exec(text.trim());
  const port = match == null ? NaN : Number(match[2]);
  if (match == null || port > 65_535) {
    throw new ConfigError(
      `expected [host:]port such as 8080 or 127.0.0.1:8080, got ${JSON.stringify(text)}`,
    );
  }
  return { host: match[1] == null ? '0.0.0.0' : match[1].replace(/^\[|\]$/g, ''), port };
}

export function doctorHelp(): string {
  return formatHelp(DOCTOR_OPTIONS, {
    summary:
      'token.place doctor: can this machine run a node? Checks Node.js, CPU, memory, disk, the llama.cpp backend, ports and bootstraps, and recommends a model size',
    usage: 'token.place doctor [options]',
    examples: [
      'token.place doctor                                   # this machine, the demo model, port 8000',
      'token.place doctor --model hf:bartowski/Llama-3.2-3B-Instruct-GGUF/Llama-3.2-3B-Instruct-Q4_K_M.gguf',
      'token.place doctor --bootstrap /dns4/relay.example.org/tcp/443/wss/p2p/12D3KooW…',
      'token.place doctor --config /etc/token.place/node.json --json',
    ],
    footer:
      'Each line says PASS, WARN or FAIL. Exit code 0 when nothing fails, 1 otherwise (2 for bad options).',
  });
}
