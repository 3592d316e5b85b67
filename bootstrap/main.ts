/**
 * `token.place bootstrap`: the CLI around `startBootstrap` — configuration, the startup
 * banner, a log line per gateway request and per node joining or leaving at `info`, and
 * a clean shutdown on Ctrl-C / SIGTERM. Heavy modules load only after `--help` and
 * configuration errors have had their say.
 */
import { multiaddr } from '@multiformats/multiaddr';
import { ConfigError, configureLogging, type LogLevel } from '../protocol/index.js';
import {
  bootstrapHelp,
  loadBootstrapConfig,
  parseHostPort,
  type BootstrapConfig,
} from './config.js';
import type { RunningBootstrap } from './bootstrap.js';

export interface CommandContext {
  version: string;
  env?: Readonly<Record<string, string | undefined>>;
  stdout?: NodeJS.WriteStream;
  stderr?: NodeJS.WriteStream;
}

const PRIVATE_V4 = /^(10\.|127\.|192\.168\.|169\.254\.|172\.(1[6-9]|2\d|3[01])\.)/;

/** True when a listen address is reachable beyond this machine's private networks. */
function listensPublicly(addr: string): boolean {
  const ip = multiaddr(addr)
    .getComponents()
    .find((c) => c.name === 'ip4' || c.name === 'ip6')?.value;
  if (ip == null) return false;
  if (ip === '0.0.0.0' || ip === '::') return true;
  if (ip.includes(':')) return !(ip === '::1' || /^f[cd]|^fe80/i.test(ip));
  return !PRIVATE_V4.test(ip);
}

export function banner(bootstrap: RunningBootstrap, version: string): string {
  const { config } = bootstrap;
  const url = bootstrap.httpUrl;
  const lines = [
    '',
    `  token.place bootstrap ${version}`,
    '',
    `  Peer ID      ${bootstrap.peerId}`,
    ...bootstrap.multiaddrs.map((a, i) => `  ${i === 0 ? 'Multiaddrs' : '          '}   ${a}`),
    `  HTTP         ${url}`,
    `  Chat         ${url}/`,
    `  OpenAI API   ${url}/v1${config.plainGateway ? '' : ' (encrypted mode only)'}`,
    `  Metrics      ${url}/metrics`,
    `  Identity     ${bootstrap.identity.path}${bootstrap.identity.created ? ' (new)' : ''}`,
  ];
  if (bootstrap.multiaddrs.length === 0) lines.splice(4, 0, '  Multiaddrs   (none)');
  if (config.announce.length === 0 && config.listen.some(listensPublicly)) {
    lines.push(
      '',
      '  WARNING      listening on public interfaces without --announce: browsers elsewhere need',
      '               a wss:// address. Put a TLS reverse proxy in front and pass',
      '               --announce /dns4/<your-host>/tcp/443/wss (see docs/OPERATOR.md).',
    );
  }
  if (
    config.plainGateway &&
    !['127.0.0.1', 'localhost', '::1'].includes(parseHostPort(config.http).host)
  ) {
    lines.push(
      '',
      '  Note         the plain-mode OpenAI gateway sees prompts and answers of the requests it',
      '               serves; --no-plain-gateway leaves only end-to-end encrypted mode.',
    );
  }
  lines.push(
    '',
    '  Nodes join with:  token.place node --bootstrap ' +
      (bootstrap.multiaddrs[0] ?? '<multiaddr>'),
    '',
    '  Press Ctrl-C to stop.',
    '',
  );
  return lines.join('\n');
}

/** Runs `token.place bootstrap` until SIGINT/SIGTERM. Returns the exit code. */
export async function runBootstrapCommand(
  argv: readonly string[],
  ctx: CommandContext,
): Promise<number> {
  const stdout = ctx.stdout ?? process.stdout;
  const stderr = ctx.stderr ?? process.stderr;
  if (argv.includes('--help') || argv.includes('-h')) {
    stdout.write(`${bootstrapHelp()}\n`);
    return 0;
  }
  let config: BootstrapConfig;
  try {
    config = loadBootstrapConfig(argv, ctx.env ?? process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      stderr.write(`token.place bootstrap: ${err.message}\n`);
      return 2;
    }
    throw err as Error;
  }
  configureLogging(config.logLevel as LogLevel, ctx.env ?? process.env);
  const quiet = config.logLevel === 'error';
  const starting = new AbortController();
  const onEarlySignal = (): void => starting.abort(new Error('interrupted'));
  process.once('SIGINT', onEarlySignal);
  process.once('SIGTERM', onEarlySignal);
  // Listening for the stop signal before the banner goes out: whoever reads the banner
  // may press Ctrl-C (or send SIGTERM) at once.
  let stopRequested = (): void => {};
  const stopped = new Promise<void>((resolve) => (stopRequested = resolve));
  let bootstrap: RunningBootstrap;
  try {
    // Loaded only now, so --help and configuration errors answer at once.
    const { startBootstrap } = await import('./bootstrap.js');
    bootstrap = await startBootstrap(config, {
      signal: starting.signal,
      ...(quiet
        ? {}
        : {
            onRequest: (r) =>
              stdout.write(
                `${new Date().toISOString()} ${r.method} ${r.path} ${r.status} ${r.ms} ms${r.mode === 'none' ? '' : ` (${r.mode})`}\n`,
              ),
            onDirectoryChange: (change) =>
              stdout.write(
                `${new Date().toISOString()} node ${change.peerId} ${change.type}${change.models.length > 0 ? ` (${change.models.join(', ')})` : ''}\n`,
              ),
          }),
    });
    process.once('SIGINT', stopRequested);
    process.once('SIGTERM', stopRequested);
    // Interrupted after the last check inside startBootstrap: stop right after the banner.
    if (starting.signal.aborted) stopRequested();
  } catch (err) {
    stderr.write(`token.place bootstrap: ${(err as Error).message}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onEarlySignal);
    process.off('SIGTERM', onEarlySignal);
  }
  stdout.write(`${banner(bootstrap, ctx.version)}\n`);
  await stopped;
  process.off('SIGINT', stopRequested);
  process.off('SIGTERM', stopRequested);
  stdout.write('  Stopping…\n');
  await bootstrap.stop();
  return 0;
}
