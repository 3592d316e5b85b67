/**
 * `token.place node`: the CLI around `startNode` — configuration, progress, the
 * startup banner, a request log at `info`, and a clean shutdown on Ctrl-C / SIGTERM.
 */
import { ConfigError, configureLogging, fingerprintOf, type LogLevel } from '../protocol/index.js';
import { loadNodeConfig, nodeHelp, type NodeConfig } from './config.js';
import { formatBytes } from './engine/defaults.js';
import type { RunningNode } from './node.js';
import { progressBar } from './progress.js';

export interface CommandContext {
  version: string;
  env?: Readonly<Record<string, string | undefined>>;
  stdout?: NodeJS.WriteStream;
  stderr?: NodeJS.WriteStream;
}

function describeModel(node: RunningNode): string[] {
  const engine = node.engine;
  if (engine == null) return ['none — this node routes every request to the mesh'];
  const m = engine.model;
  const head = m.builtIn
    ? `${m.id} — built-in test model (every chat answer is "Hello! I am a tiny test model.")`
    : `${m.id} — ${m.family}, ${m.quantization}, context ${m.contextLength}`;
  const lines = [
    head,
    `loaded in ${Math.round(m.loadMs)} ms · ${engine.backend.toUpperCase()} · ${engine.threads} thread(s) · ${engine.maxConcurrency} request(s) at a time · context ${engine.contextSize}`,
  ];
  const memory = engine.memory;
  if (memory?.checked === true && !m.builtIn) {
    lines.push(
      `needs about ${formatBytes(memory.estimatedBytes)} of ${formatBytes(memory.limitBytes)} memory (${formatBytes(memory.availableBytes)} were available)`,
    );
    if (memory.estimatedBytes > memory.availableBytes) {
      lines.push(
        'WARNING: more than is available now: close other programs, or expect swapping and slow answers',
      );
    }
  }
  return lines;
}

export function banner(node: RunningNode, version: string): string {
  const model = describeModel(node);
  const lines: string[] = [
    '',
    `  token.place node ${version}`,
    '',
    `  Model       ${model[0]}`,
    ...model.slice(1).map((l) => `              ${l}`),
    `  OpenAI API  ${node.apiUrl}`,
    `  Peer ID     ${node.identity.peerId.toString()}`,
    node.mesh != null
      ? `  Mesh        ${node.mesh.connectedBootstraps()} of ${node.config.bootstrap.length} bootstrap(s) connected; other models are routed to the mesh`
      : '  Mesh        off (pass --bootstrap <multiaddr> to join a mesh)',
    `  HPKE key    ${fingerprintOf(node.keyring.currentPublicKey)}`,
  ];
  if (node.config.apiKey != null) lines.push('  Auth        bearer API key required');
  else if (!['127.0.0.1', 'localhost', '::1'].includes(node.config.apiHost)) {
    lines.push(
      `  WARNING     the API listens on ${node.config.apiHost} without --api-key: anyone who can reach it can use it`,
    );
  }
  if (node.engine?.model.builtIn === true) {
    lines.push(
      '',
      '  This is a tiny built-in test model, so token.place runs offline. To serve a real model:',
      '    token.place node --model /path/to/model.gguf',
      '    token.place node --model hf:bartowski/Llama-3.2-3B-Instruct-GGUF/Llama-3.2-3B-Instruct-Q4_K_M.gguf',
    );
  }
  const modelId = node.engine?.model.id ?? 'demo';
  lines.push(
    '',
    '  Try it:',
    `    curl ${node.apiUrl}/chat/completions -H 'content-type: application/json' \\`,
    `      -d '{"model":"${modelId}","messages":[{"role":"user","content":"Hello"}]}'`,
    '',
    '  Press Ctrl-C to stop.',
    '',
  );
  return lines.join('\n');
}

/** Runs `token.place node` until SIGINT/SIGTERM. Returns the exit code. */
export async function runNodeCommand(
  argv: readonly string[],
  ctx: CommandContext,
): Promise<number> {
  const stdout = ctx.stdout ?? process.stdout;
  const stderr = ctx.stderr ?? process.stderr;
  if (argv.includes('--help') || argv.includes('-h')) {
    stdout.write(`${nodeHelp()}\n`);
    return 0;
  }
  let config: NodeConfig;
  try {
    config = loadNodeConfig(argv, ctx.env ?? process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      stderr.write(`token.place node: ${err.message}\n`);
      return 2;
    }
    throw err as Error;
  }
  configureLogging(config.logLevel as LogLevel, ctx.env ?? process.env);
  const starting = new AbortController();
  const onEarlySignal = (): void => starting.abort(new Error('interrupted'));
  process.once('SIGINT', onEarlySignal);
  process.once('SIGTERM', onEarlySignal);
  let node: RunningNode;
  try {
    // Loaded only now, so --help and configuration errors answer at once.
    const { startNode } = await import('./node.js');
    node = await startNode(config, {
      signal: starting.signal,
      onProgress: progressBar(stderr),
      onRequest:
        config.logLevel === 'error'
          ? undefined
          : (r) =>
              stdout.write(
                `${new Date().toISOString()} ${r.method} ${r.path} ${r.status} ${r.ms} ms${r.sealed ? ' (sealed)' : ''}\n`,
              ),
    });
  } catch (err) {
    stderr.write(`token.place node: ${(err as Error).message}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onEarlySignal);
    process.off('SIGTERM', onEarlySignal);
  }
  // Listen for Ctrl-C before printing the banner: whoever reads the banner may stop us at once.
  const stopRequested = new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  stdout.write(`${banner(node, ctx.version)}\n`);
  await stopRequested;
  stdout.write('  Stopping…\n');
  if (node.mesh != null) (await import('./mesh/webrtc-direct.js')).leaveWebRTCDirectPortsToExit();
  await node.stop();
  const { disposeLlamaBackends } = await import('./engine/index.js');
  await disposeLlamaBackends();
  return 0;
}
