// Start and stop, the persistent identity, configuration, and --no-plain-gateway.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { ConfigError } from '../../protocol/index.js';
import {
  BOOTSTRAP_OPTIONS,
  bootstrapHelp,
  loadBootstrapConfig,
  parseHostPort,
} from '../../bootstrap/config.js';
import { BOOTSTRAP_IDENTITY_FILE, loadBootstrapIdentity } from '../../bootstrap/identity.js';
import { flagName } from '../../protocol/index.js';
import { startTestBootstrap } from './helpers.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tokenplace-bootstrap-life-'));
  dirs.push(dir);
  return dir;
}

describe('identity', () => {
  it('keeps its PeerId across restarts, in a 0600 key file', async () => {
    const dataDir = await tempDir();
    const first = await startTestBootstrap({ dataDir });
    expect(first.identity.created).toBe(true);
    await first.stop();
    await first.stop(); // idempotent
    const file = join(dataDir, BOOTSTRAP_IDENTITY_FILE);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(peerIdFromPrivateKey(privateKeyFromProtobuf(await readFile(file))).toString()).toBe(
      first.peerId,
    );

    // Restart with --no-plain-gateway: same PeerId; only encrypted mode is served.
    const second = await startTestBootstrap({ dataDir, args: ['--no-plain-gateway'] });
    try {
      expect(second.identity.created).toBe(false);
      expect(second.peerId).toBe(first.peerId);
      expect(second.multiaddrs.every((a) => a.endsWith(`/p2p/${first.peerId}`))).toBe(true);
      const plain = await fetch(`${second.httpUrl}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'demo', messages: [] }),
      });
      expect(plain.status).toBe(403);
      expect(((await plain.json()) as { error: { code: string } }).error.code).toBe(
        'plain_mode_disabled',
      );
      expect((await fetch(`${second.httpUrl}/v1/models`)).status).toBe(200);
    } finally {
      await second.stop();
    }
  });

  it('refuses a corrupt key file with a clear message', async () => {
    const file = join(await tempDir(), BOOTSTRAP_IDENTITY_FILE);
    await writeFile(file, 'garbage');
    await expect(loadBootstrapIdentity(file)).rejects.toThrow(/corrupt.*backup/);
  });

  it('says which port is taken', async () => {
    const first = await startTestBootstrap();
    try {
      const port = first.httpPort;
      await expect(startTestBootstrap({ args: ['--http', `127.0.0.1:${port}`] })).rejects.toThrow(
        new RegExp(`HTTP port ${port} .* already in use`),
      );
    } finally {
      await first.dispose();
    }
  });
});

describe('configuration', () => {
  it('has the documented defaults', () => {
    const config = loadBootstrapConfig([], { TOKENPLACE_DATA_DIR: '/tmp/x' });
    expect(config).toMatchObject({
      listen: ['/ip4/0.0.0.0/tcp/9090/ws'],
      announce: [],
      peer: [],
      http: '0.0.0.0:8080',
      dataDir: '/tmp/x',
      maxReservations: 128,
      reservationTtl: 7200,
      relayDurationLimit: 120,
      relayDataLimit: 131072,
      maxConnections: 1000,
      maxConnectionRatePerIp: 25,
      maxPendingConnections: 64,
      allowPrivateAddresses: false,
      plainGateway: true,
      logLevel: 'info',
    });
  });

  it('takes repeatable --listen/--announce and TOKENPLACE_BOOTSTRAP_* variables, flags winning', () => {
    const config = loadBootstrapConfig(
      [
        '--announce',
        '/dns4/relay.example.org/tcp/443/wss',
        '--announce',
        '/ip4/192.0.2.1/tcp/9090/ws',
        '--http',
        '9000',
      ],
      { TOKENPLACE_BOOTSTRAP_HTTP: '127.0.0.1:1', TOKENPLACE_BOOTSTRAP_MAX_RESERVATIONS: '7' },
    );
    expect(config.announce).toEqual([
      '/dns4/relay.example.org/tcp/443/wss',
      '/ip4/192.0.2.1/tcp/9090/ws',
    ]);
    expect(config.http).toBe('9000');
    expect(config.maxReservations).toBe(7);
  });

  it('refuses bad values, naming the flag', () => {
    const bad: Array<[string[], RegExp]> = [
      [['--listen', '/ip4/0.0.0.0/tcp/9090'], /--listen: .*WebSockets only/],
      [['--listen', 'not-a-multiaddr'], /--listen: .*not a multiaddr/],
      [['--announce', 'https://relay.example.org'], /--announce: .*not a multiaddr/],
      [
        [
          '--announce',
          '/dns4/x.example/tcp/443/wss/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo',
        ],
        /leave out \/p2p/,
      ],
      [['--http', 'localhost:99999'], /--http: expected \[host:\]port/],
      [['--peer', '/dns4/relay2.example.org/tcp/443/wss'], /--peer: .*end it with \/p2p\/<peerId>/],
      [['--max-reservations', '0'], /--max-reservations: expected an integer from 1/],
      [['--log-level', 'loud'], /--log-level: expected one of/],
    ];
    for (const [argv, message] of bad) {
      expect(() => loadBootstrapConfig(argv, {})).toThrow(ConfigError);
      expect(() => loadBootstrapConfig(argv, {})).toThrow(message);
    }
  });

  it('parses [host:]port', () => {
    expect(parseHostPort('8080')).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(parseHostPort('127.0.0.1:0')).toEqual({ host: '127.0.0.1', port: 0 });
    expect(parseHostPort('[::1]:80')).toEqual({ host: '::1', port: 80 });
    expect(parseHostPort('relay.example.org:443')).toEqual({
      host: 'relay.example.org',
      port: 443,
    });
    expect(() => parseHostPort('::1:80')).toThrow(ConfigError);
  });

  it('docs/OPERATOR.md documents every flag with its default and variable', async () => {
    const doc = await readFile(new URL('../../docs/OPERATOR.md', import.meta.url), 'utf8');
    for (const [key, def] of Object.entries(BOOTSTRAP_OPTIONS)) {
      const row = doc.split('\n').find((line) => line.startsWith(`| \`--${flagName(key)}`));
      expect(row, `--${flagName(key)}`).toBeDefined();
      expect(row).toContain(`\`${def.env}\``);
      if (def.type === 'integer' || def.type === 'list') {
        const value = 'default' in def ? def.default : undefined;
        if (value != null && !(Array.isArray(value) && value.length === 0)) {
          expect(row).toContain(`\`${Array.isArray(value) ? value.join(',') : String(value)}\``);
        }
      }
    }
  });

  it('documents every flag in --help', () => {
    const help = bootstrapHelp();
    for (const key of Object.keys(BOOTSTRAP_OPTIONS)) expect(help).toContain(`--${flagName(key)}`);
    expect(help).toContain('docs/OPERATOR.md');
  });
});
