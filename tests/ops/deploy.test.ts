// The deployment files and the docs stay true to the code: the Dockerfile's command, the
// systemd units' ExecStart with the example config files, and every token.place flag the
// user docs mention parse with the options they name.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BOOTSTRAP_OPTIONS, loadBootstrapConfig } from '../../bootstrap/config.js';
import { NODE_OPTIONS, loadNodeConfig } from '../../node/config.js';
import { DOCTOR_OPTIONS } from '../../node/doctor/index.js';
import { flagName, type OptionDefs } from '../../protocol/index.js';

const read = (path: string): string =>
  readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
const repo = (path: string): string => new URL(`../../${path}`, import.meta.url).pathname;

describe('Dockerfile', () => {
  it('runs a valid bootstrap command as a non-root user, with /data as a volume', () => {
    const text = read('Dockerfile');
    const entrypoint = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(text)?.[1];
    const command = JSON.parse(entrypoint!) as string[];
    expect(command.slice(0, 3)).toEqual(['node', 'dist/bin/token.place.js', 'bootstrap']);
    const config = loadBootstrapConfig(command.slice(3), {});
    expect(config).toMatchObject({
      dataDir: '/data',
      listen: ['/ip4/0.0.0.0/tcp/9090/ws'],
      http: '0.0.0.0:8080',
    });
    expect(text).toMatch(/^FROM node:22-bookworm-slim AS build$/m);
    expect(text).toMatch(/^USER node$/m);
    expect(text).toMatch(/^VOLUME \/data$/m);
    expect(text).toMatch(/^EXPOSE 9090 8080$/m);
  });
});

describe('systemd units', () => {
  const units = [
    ['token.place-node.service', 'node', 'deploy/config/node.example.json'],
    ['token.place-bootstrap.service', 'bootstrap', 'deploy/config/bootstrap.example.json'],
  ] as const;

  it.each(units)('%s: ExecStart parses with the example config file', (unit, role, example) => {
    const text = read(`deploy/systemd/${unit}`);
    const execStart = /^ExecStart=(.+)$/m.exec(text)![1]!.split(/\s+/);
    expect(execStart.slice(0, 3)).toEqual([
      '/usr/bin/env',
      'node',
      '/opt/token.place/dist/bin/token.place.js',
    ]);
    expect(execStart[3]).toBe(role);
    const args = execStart
      .slice(4)
      .map((a) => (a.startsWith('/etc/token.place/') ? repo(example) : a));
    const env = { TOKENPLACE_DATA_DIR: '/var/lib/token.place' };
    const config = role === 'node' ? loadNodeConfig(args, env) : loadBootstrapConfig(args, env);
    expect(config.dataDir).toBe('/var/lib/token.place');
    expect(text).toContain(`Environment=TOKENPLACE_DATA_DIR=/var/lib/token.place`);
  });

  it.each(units)('%s: a dedicated user, restart on failure, start at boot, hardening', (unit) => {
    const text = read(`deploy/systemd/${unit}`);
    for (const line of [
      'User=tokenplace',
      'Restart=on-failure',
      'WantedBy=multi-user.target',
      'After=network-online.target',
      'StateDirectory=token.place',
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'ProtectHome=yes',
      'PrivateTmp=yes',
      'CapabilityBoundingSet=',
    ]) {
      expect(text).toMatch(new RegExp(`^${line.replace(/[.]/g, '\\.')}$`, 'm'));
    }
    // V8's JIT needs writable+executable memory: this setting would kill Node.
    expect(text).not.toMatch(/^MemoryDenyWriteExecute=yes/m);
  });
});

const ROLE_OPTIONS: Record<string, OptionDefs> = {
  node: NODE_OPTIONS,
  bootstrap: BOOTSTRAP_OPTIONS,
  doctor: DOCTOR_OPTIONS,
};
function flagsOf(defs: OptionDefs): Set<string> {
  const flags = new Set(['--help', '-h']);
  for (const [key, def] of Object.entries(defs)) {
    flags.add(`--${flagName(key)}`);
    if (def.type === 'boolean') flags.add(`--no-${flagName(key)}`);
    if (def.short != null) flags.add(`-${def.short}`);
  }
  return flags;
}

describe('the docs mention only flags that exist', () => {
  const DOCS = ['README.md', 'docs/NODE.md', 'docs/OPERATOR.md', 'docs/RASPBERRY-PI.md'];

  it.each(DOCS)('%s: every `token.place <role> --flag` command line', (doc) => {
    // Join shell continuation lines, then look at each token.place command.
    const text = read(doc).replace(/\\\n\s*/g, ' ');
    const problems: string[] = [];
    let commands = 0;
    for (const m of text.matchAll(/token\.place(?:\.js)?\s+(node|bootstrap|doctor)\b([^\n`|]*)/g)) {
      const flags = flagsOf(ROLE_OPTIONS[m[1]!]!);
      commands++;
      for (const flag of m[2]!.match(/(?<=^|\s)--?[a-z][a-z0-9-]*/g) ?? []) {
        if (!flags.has(flag)) problems.push(`token.place ${m[1]} ${flag}`);
      }
    }
    expect(commands).toBeGreaterThan(0);
    expect(problems).toEqual([]);
  });

  it.each([
    ['docs/NODE.md', 'node', NODE_OPTIONS],
    ['docs/OPERATOR.md', 'bootstrap', BOOTSTRAP_OPTIONS],
  ] as const)('%s: the flag table lists real %s flags, and all of them', (doc, _role, defs) => {
    const text = read(doc);
    const section = text.slice(
      text.indexOf('## Flags'),
      text.indexOf('\n## ', text.indexOf('## Flags') + 1),
    );
    const rows = [...section.matchAll(/^\| `([^`]+)`/gm)].map((m) => m[1]!);
    const listed = new Set(rows.flatMap((r) => r.match(/--?[a-z][a-z0-9-]*/g) ?? []));
    const flags = flagsOf(defs);
    expect([...listed].filter((f) => !flags.has(f))).toEqual([]);
    const missing = Object.keys(defs)
      .map((key) => `--${flagName(key)}`)
      .filter((f) => !listed.has(f));
    expect(missing).toEqual([]);
  });
});
