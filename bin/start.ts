/**
 * `token.place start` (what `npm start` runs): a whole local mesh in one process — a
 * bootstrap (relay, DHT, directory, web chat, HTTP gateway) and an inference node joined
 * to it — on loopback, with one banner: the chat URL, the OpenAI base URL and the
 * bootstrap multiaddr. Ctrl-C stops everything.
 */
import { readFileSync } from 'node:fs';
import {
  ConfigError,
  configOption,
  configureLogging,
  formatHelp,
  parseOptionsWithConfig,
  type LogLevel,
  type OptionDefs,
  type OptionValues,
} from '../protocol/index.js';

const START_OPTIONS = {
  config: configOption('TOKENPLACE_CONFIG'),
  model: {
    type: 'string',
    short: 'm',
    placeholder: '<model>',
    default: 'demo',
    description:
      "the node's model: 'demo' (built-in), a .gguf path, or an hf:<owner>/<repo>/<file>.gguf URI",
  },
  dataDir: {
    type: 'string',
    placeholder: '<dir>',
    description: 'identity keys and model cache (default: the platform data folder)',
  },
  apiPort: {
    type: 'integer',
    placeholder: '<port>',
    min: 0,
    max: 65535,
    default: 8000,
    description: "the node's OpenAI-compatible API; 0 picks a free port",
  },
  httpPort: {
    type: 'integer',
    placeholder: '<port>',
    min: 0,
    max: 65535,
    default: 8080,
    env: 'TOKENPLACE_START_HTTP_PORT',
    description: 'the web chat and the HTTP gateway; 0 picks a free port',
  },
  p2pPort: {
    type: 'integer',
    placeholder: '<port>',
    min: 0,
    max: 65535,
    default: 9090,
    description: "the bootstrap's libp2p WebSockets port; 0 picks a free port",
  },
  logLevel: {
    type: 'string',
    placeholder: '<level>',
    choices: ['error', 'info', 'debug', 'trace'],
    default: 'info',
    description: 'error, info (one line per request), debug or trace; never prompts or answers',
  },
} as const satisfies OptionDefs;

function startHelp(): string {
  return formatHelp(START_OPTIONS, {
    summary:
      'token.place start: a local mesh in one command (bootstrap + inference node + web chat), on loopback',
    usage: 'token.place start [options]',
    examples: [
      'token.place start                         # the built-in demo model',
      'token.place start --model ~/models/llama-3.2-3b-instruct-q4_k_m.gguf',
      'token.place start --api-port 0 --http-port 0 --p2p-port 0',
      'token.place start --config start.json   # e.g. {"model": "/models/llama.gguf", "apiPort": 8001}',
    ],
    footer:
      'For a node or a bootstrap on their own: token.place node --help, token.place bootstrap --help',
  });
}

function lines(
  version: string,
  chatUrl: string,
  apiUrl: string,
  bootstrap: string,
  model: string,
  builtIn: boolean,
): string {
  return [
    '',
    `  token.place ${version} — local mesh running`,
    '',
    `  Chat        ${chatUrl}`,
    `  OpenAI API  ${apiUrl}   (model: ${model})`,
    `  Bootstrap   ${bootstrap}`,
    `  Gateway     ${chatUrl}v1   (OpenAI API for the whole mesh)`,
    '',
    ...(builtIn
      ? ['  The model is a tiny built-in test model; pass --model to serve a real one.', '']
      : []),
    '  Add another node to this mesh from a second terminal:',
    `    token.place node --bootstrap ${bootstrap} --allow-private-addresses --api-port 0`,
    '',
    '  Press Ctrl-C to stop.',
    '',
  ].join('\n');
}

export async function runStartCommand(
  argv: readonly string[],
  ctx: { version: string },
): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${startHelp()}\n`);
    return 0;
  }
  let options: OptionValues<typeof START_OPTIONS>;
  try {
    options = parseOptionsWithConfig(START_OPTIONS, {
      argv,
      env: process.env,
      readFile: (path) => readFileSync(path, 'utf8'),
    });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`token.place start: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const [
    { loadBootstrapConfig },
    { startBootstrap },
    { loadNodeConfig },
    { startNode },
    { progressBar },
  ] = await Promise.all([
    import('../bootstrap/config.js'),
    import('../bootstrap/bootstrap.js'),
    import('../node/config.js'),
    import('../node/node.js'),
    import('../node/progress.js'),
  ]);
  configureLogging(options.logLevel as LogLevel, process.env);
  const common = [
    ...(options.dataDir != null ? ['--data-dir', options.dataDir] : []),
    '--log-level',
    options.logLevel,
  ];
  // The config file (if any) was start's own: the roles it starts must not read it as theirs.
  const env = { ...process.env };
  delete env.TOKENPLACE_CONFIG;
  delete env.TOKENPLACE_BOOTSTRAP_CONFIG;
  let bootstrap: Awaited<ReturnType<typeof startBootstrap>> | undefined;
  let node: Awaited<ReturnType<typeof startNode>> | undefined;
  let stopRequested: Promise<void> | undefined;
  const stopAll = async (): Promise<void> => {
    await node?.stop();
    await bootstrap?.stop();
    const { disposeLlamaBackends } = await import('../node/engine/index.js');
    await disposeLlamaBackends();
  };
  try {
    bootstrap = await startBootstrap(
      loadBootstrapConfig(
        [
          '--listen',
          `/ip4/127.0.0.1/tcp/${options.p2pPort}/ws`,
          '--http',
          `127.0.0.1:${options.httpPort}`,
          '--allow-private-addresses',
          ...common,
        ],
        env,
      ),
    );
    const bootstrapAddr =
      bootstrap.multiaddrs.find((a) => a.includes('/ws/')) ?? bootstrap.multiaddrs[0]!;
    const onRequest = (r: { method: string; path: string; status: number; ms: number }): void => {
      if (options.logLevel !== 'error')
        process.stdout.write(
          `${new Date().toISOString()} ${r.method} ${r.path} ${r.status} ${r.ms} ms\n`,
        );
    };
    node = await startNode(
      loadNodeConfig(
        [
          '--model',
          options.model,
          '--api-port',
          String(options.apiPort),
          '--bootstrap',
          bootstrapAddr,
          '--listen',
          '/ip4/127.0.0.1/tcp/0',
          '--listen',
          '/ip4/127.0.0.1/udp/0/webrtc-direct',
          '--allow-private-addresses',
          ...common,
        ],
        env,
      ),
      { onProgress: progressBar(process.stderr), onRequest },
    );
    const model = node.engine?.model;
    // Listen for Ctrl-C before printing the banner: whoever reads it may stop us at once.
    stopRequested = new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
    process.stdout.write(
      `${lines(ctx.version, `${bootstrap.httpUrl}/`, node.apiUrl, bootstrapAddr, model?.id ?? 'none', model?.builtIn === true)}\n`,
    );
  } catch (err) {
    process.stderr.write(`token.place start: ${(err as Error).message}\n`);
    await stopAll().catch(() => {});
    return 1;
  }
  await stopRequested;
  process.stdout.write('  Stopping…\n');
  (await import('../node/mesh/webrtc-direct.js')).leaveWebRTCDirectPortsToExit();
  await stopAll();
  return 0;
}
