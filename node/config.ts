/**
 * `token.place node` configuration: read once from flags, then `TOKENPLACE_*`
 * environment variables, then a JSON config file (`--config`, `TOKENPLACE_CONFIG`), then
 * defaults; validated, with errors that name the flag, the variable or the file and key.
 */
import { readFileSync } from 'node:fs';
import {
  configOption,
  formatHelp,
  parseOptionsWithConfig,
  type OptionDefs,
  type OptionValues,
} from '../protocol/index.js';
import { defaultDataDir } from './paths.js';

export const NODE_OPTIONS = {
  config: configOption('TOKENPLACE_CONFIG'),
  model: {
    type: 'string',
    short: 'm',
    placeholder: '<model>',
    default: 'demo',
    description:
      "model to serve: 'demo' (built-in test model), 'demo-endless', 'demo-random', a path to a .gguf file, an hf:<owner>/<repo>/<file>.gguf URI, or 'none'",
  },
  modelId: {
    type: 'string',
    placeholder: '<id>',
    description:
      "the id clients use for the model (default: 'demo', or derived from the file name)",
  },
  dataDir: {
    type: 'string',
    placeholder: '<dir>',
    description:
      'where the identity key and downloaded models live (default: the platform data folder)',
  },
  apiHost: {
    type: 'string',
    placeholder: '<host>',
    default: '127.0.0.1',
    description:
      'address of the OpenAI-compatible API (keep it on loopback unless you set --api-key)',
  },
  apiPort: {
    type: 'integer',
    placeholder: '<port>',
    min: 0,
    max: 65535,
    default: 8000,
    description: 'port of the OpenAI-compatible API; 0 picks a free one',
  },
  apiKey: {
    type: 'string',
    placeholder: '<key>',
    description: 'require Authorization: Bearer <key> on the API',
  },
  corsOrigin: {
    type: 'list',
    placeholder: '<origin>',
    description:
      "extra browser origins allowed to call the API (repeatable; '*' for any). Loopback origins are always allowed",
  },
  threads: {
    type: 'integer',
    placeholder: '<n>',
    min: 1,
    max: 1024,
    description:
      'CPU threads for llama.cpp (default: 1 for the demo model, else the physical cores)',
  },
  maxConcurrency: {
    type: 'integer',
    placeholder: '<n>',
    min: 1,
    max: 256,
    description:
      'requests generated at once (default: 1 on small machines — 4 cores or fewer, or 8 GiB of RAM or less — more on big ones)',
  },
  maxQueue: {
    type: 'integer',
    placeholder: '<n>',
    min: 0,
    max: 100_000,
    default: 32,
    description: 'requests that may wait beyond those running; more get HTTP 429',
  },
  contextSize: {
    type: 'integer',
    placeholder: '<tokens>',
    min: 64,
    max: 1_048_576,
    description:
      "context per request (default: the model's trained context, at most 4096, smaller when RAM is short)",
  },
  gpu: {
    type: 'string',
    placeholder: '<auto|off>',
    choices: ['auto', 'off'],
    description:
      "use a GPU when one works ('auto'), or the CPU only ('off') (default: auto; off for the demo model)",
  },
  bootstrap: {
    type: 'list',
    placeholder: '<multiaddr>',
    description:
      'join the mesh through this bootstrap (repeatable; each ends in /p2p/<peer id>). Without one the node serves its API only',
  },
  listen: {
    type: 'list',
    placeholder: '<multiaddr>',
    default: ['/ip4/0.0.0.0/tcp/0', '/ip4/0.0.0.0/udp/0/webrtc-direct'],
    description:
      "addresses for directly reachable peers: TCP for nodes, /udp/<port>/webrtc-direct for browsers (repeatable; 'none' for relay only); relayed WebRTC is always on",
  },
  announce: {
    type: 'list',
    placeholder: '<multiaddr>',
    description: 'public addresses to advertise instead of the listen addresses (repeatable)',
  },
  allowPrivateAddresses: {
    type: 'boolean',
    description:
      'LAN/loopback mesh: keep private addresses in DHT records and skip public STUN servers',
  },
  logLevel: {
    type: 'string',
    placeholder: '<level>',
    choices: ['error', 'info', 'debug', 'trace'],
    default: 'info',
    description:
      'error: problems only; info: plus one line per request; debug/trace: diagnostics (never prompts or answers)',
  },
} as const satisfies OptionDefs;

export type NodeConfig = Omit<OptionValues<typeof NODE_OPTIONS>, 'dataDir'> & { dataDir: string };

export function loadNodeConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): NodeConfig {
  const values = parseOptionsWithConfig(NODE_OPTIONS, {
    argv,
    env,
    readFile: (path) => readFileSync(path, 'utf8'),
  });
  return { ...values, dataDir: values.dataDir ?? defaultDataDir(env) };
}

export function nodeHelp(): string {
  return formatHelp(NODE_OPTIONS, {
    summary:
      'token.place node: serve a model to the mesh, with an OpenAI-compatible API on localhost',
    usage: 'token.place node [options]',
    examples: [
      'token.place node                                  # the built-in demo model, API on 127.0.0.1:8000',
      'token.place node --model ~/models/llama-3.2-3b-instruct-q4_k_m.gguf',
      'token.place node --model hf:bartowski/Llama-3.2-3B-Instruct-GGUF/Llama-3.2-3B-Instruct-Q4_K_M.gguf',
      'token.place node --api-port 0 --api-key "$(openssl rand -hex 16)"',
      'token.place node --config /etc/token.place/node.json   # settings from a JSON file',
    ],
    footer: 'Then point any OpenAI client at the base URL it prints (http://127.0.0.1:8000/v1).',
  });
}
