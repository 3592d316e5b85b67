// `token.place bootstrap` as operators run it: the built CLI in a child process
// (run `npm run build` first).
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BootstrapInfo } from '../../protocol/index.js';
import { runCli, startCli, type CliProcess } from '../helpers/cli.js';

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()!();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tokenplace-cli-bootstrap-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function track(p: CliProcess): CliProcess {
  cleanup.push(() => p.stop());
  return p;
}

describe('token.place bootstrap', () => {
  it('prints a banner with PeerId, multiaddrs and URLs, serves, and stops cleanly on Ctrl-C', async () => {
    const dataDir = await tempDir();
    const bootstrap = track(
      startCli([
        'bootstrap',
        '--listen',
        '/ip4/127.0.0.1/tcp/0/ws',
        '--http',
        '127.0.0.1:0',
        '--data-dir',
        dataDir,
        '--allow-private-addresses',
      ]),
    );
    const [, url] = await bootstrap.waitFor(/Metrics\s+(http:\/\/127\.0\.0\.1:\d+)\/metrics/);
    const banner = bootstrap.output();
    const peerId = /Peer ID\s+(12D3KooW\w+)/.exec(banner)?.[1];
    expect(peerId).toBeDefined();
    expect(banner).toContain(`/ws/p2p/${peerId}`);
    expect(banner).toMatch(/Chat\s+http:\/\/127\.0\.0\.1:\d+\//);
    expect(banner).toMatch(/OpenAI API\s+http:\/\/127\.0\.0\.1:\d+\/v1/);
    expect(banner).not.toContain('WARNING');
    const info = BootstrapInfo.parse(await (await fetch(`${url}/bootstrap.json`)).json());
    expect(info.peerId).toBe(peerId);
    expect((await fetch(`${url}/v1/models`)).status).toBe(200);
    await bootstrap.waitFor(/GET \/v1\/models 200 \d+ ms/);
    expect(await bootstrap.stop()).toBe(0);
  });

  it('warns when it listens on every interface without --announce', async () => {
    const bootstrap = track(
      startCli([
        'bootstrap',
        '--listen',
        '/ip4/0.0.0.0/tcp/0/ws',
        '--http',
        '127.0.0.1:0',
        '--data-dir',
        await tempDir(),
      ]),
    );
    await bootstrap.waitFor(/Press Ctrl-C/);
    expect(bootstrap.output()).toMatch(
      /WARNING\s+listening on public interfaces without --announce/,
    );
    expect(await bootstrap.stop()).toBe(0);
  });

  it('prints --help with every flag, at once', async () => {
    const started = performance.now();
    const { code, output } = await runCli(['bootstrap', '--help']);
    expect(code).toBe(0);
    expect(performance.now() - started).toBeLessThan(5_000);
    for (const flag of [
      '--listen',
      '--announce',
      '--peer',
      '--http',
      '--web-root',
      '--data-dir',
      '--max-reservations',
      '--reservation-ttl',
      '--relay-duration-limit',
      '--relay-data-limit',
      '--max-connections',
      '--max-connection-rate-per-ip',
      '--max-pending-connections',
      '--allow-private-addresses',
      '--plain-gateway',
      '--log-level',
    ]) {
      expect(output).toContain(flag);
    }
  });

  it('refuses a bad flag with exit code 2, naming it', async () => {
    const { code, output } = await runCli(['bootstrap', '--listen', '/ip4/0.0.0.0/tcp/1']);
    expect(code).toBe(2);
    expect(output).toMatch(/--listen: .*WebSockets/);
  });
});
