/**
 * Test helper: a real local mesh of `token.place` processes on loopback — a bootstrap,
 * and inference nodes joined to it — started from the built CLI (dist/).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCli, type CliProcess } from './cli.js';

export interface BootstrapProcess {
  cli: CliProcess;
  dataDir: string;
  /** `/ip4/127.0.0.1/tcp/<port>/ws/p2p/<peerId>` */
  multiaddr: string;
  peerId: string;
  httpUrl: string;
  wsPort: number;
  httpPort: number;
}

export interface NodeProcess {
  cli: CliProcess;
  dataDir: string;
  apiUrl: string;
  peerId: string;
}

const dirs: string[] = [];

export async function tempDir(prefix = 'tokenplace-mesh-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

export async function removeTempDirs(): Promise<void> {
  while (dirs.length > 0) await rm(dirs.pop()!, { recursive: true, force: true });
}

/** Starts `token.place bootstrap` on loopback (ports 0 unless given: a restart reuses them). */
export async function startBootstrapProcess(
  options: {
    dataDir?: string;
    wsPort?: number;
    httpPort?: number;
    extraArgs?: string[];
    env?: Record<string, string>;
  } = {},
): Promise<BootstrapProcess> {
  const dataDir = options.dataDir ?? (await tempDir());
  const cli = startCli(
    [
      'bootstrap',
      '--listen',
      `/ip4/127.0.0.1/tcp/${options.wsPort ?? 0}/ws`,
      '--http',
      `127.0.0.1:${options.httpPort ?? 0}`,
      '--data-dir',
      dataDir,
      '--allow-private-addresses',
      ...(options.extraArgs ?? []),
    ],
    options.env,
  );
  const [multiaddr, wsPort, peerId] = (await cli.waitFor(
    /\/ip4\/127\.0\.0\.1\/tcp\/(\d+)\/ws\/p2p\/(\w+)/,
  )) as unknown as [string, string, string];
  const [, httpUrl, httpPort] = (await cli.waitFor(/(http:\/\/127\.0\.0\.1:(\d+))/)) as unknown as [
    string,
    string,
    string,
  ];
  return {
    cli,
    dataDir,
    multiaddr,
    peerId,
    httpUrl,
    wsPort: Number(wsPort),
    httpPort: Number(httpPort),
  };
}

/** Starts `token.place node` joined to `bootstraps`, its API on a free loopback port. */
export async function startNodeProcess(
  bootstraps: readonly string[],
  options: {
    model?: string;
    dataDir?: string;
    extraArgs?: string[];
    env?: Record<string, string>;
  } = {},
): Promise<NodeProcess> {
  const dataDir = options.dataDir ?? (await tempDir());
  const cli = startCli(
    [
      'node',
      '--model',
      options.model ?? 'demo',
      '--api-port',
      '0',
      '--data-dir',
      dataDir,
      // Directly reachable on loopback (TCP for nodes, WebRTC-direct for browsers), unless
      // the caller chooses its own listen addresses.
      ...(options.extraArgs?.includes('--listen') === true
        ? []
        : ['--listen', '/ip4/127.0.0.1/tcp/0', '--listen', '/ip4/127.0.0.1/udp/0/webrtc-direct']),
      '--allow-private-addresses',
      ...bootstraps.flatMap((b) => ['--bootstrap', b]),
      ...(options.extraArgs ?? []),
    ],
    options.env,
  );
  const [, apiUrl] = await cli.waitFor(/OpenAI API\s+(http:\/\/127\.0\.0\.1:\d+\/v1)/);
  const [, peerId] = await cli.waitFor(/Peer ID\s+(\w+)/);
  return { cli, dataDir, apiUrl: apiUrl!, peerId: peerId! };
}

/** Polls `fn` until it returns a truthy value. */
export async function eventually<T>(
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 30_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Makes a process slow by pausing it most of the time (SIGSTOP for `pauseMs`, then
 * SIGCONT for `runMs`, over and over): a node on this machine writes the demo answer
 * within milliseconds, faster than a page paints, and this spreads its tokens out the
 * way a real model's are. Returns the function that lets it run at full speed again.
 */
export function slowDownProcess(pid: number, runMs = 3, pauseMs = 40): () => void {
  let done = false;
  let timer: NodeJS.Timeout | undefined;
  const pause = (): void => {
    if (done) return;
    process.kill(pid, 'SIGSTOP');
    timer = setTimeout(() => {
      process.kill(pid, 'SIGCONT');
      if (!done) timer = setTimeout(pause, runMs);
    }, pauseMs);
  };
  pause();
  return () => {
    done = true;
    clearTimeout(timer);
    process.kill(pid, 'SIGCONT');
  };
}

/**
 * Freezes a process (SIGSTOP) the way a machine that loses power or drops off the
 * network looks to its peers: its connections stay open and nothing answers, not even a
 * ping. Returns the function that thaws it (safe to call twice, or after it exited).
 */
export function freezeProcess(pid: number): () => void {
  process.kill(pid, 'SIGSTOP');
  let thawed = false;
  return () => {
    if (thawed) return;
    thawed = true;
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      // It exited already.
    }
  };
}
