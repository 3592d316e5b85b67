// `token.place doctor` as users (and CI) run it: the built CLI (run `npm run build` first).
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, startCli, type CliProcess } from '../helpers/cli.js';

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()!();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tokenplace-cli-doctor-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function track(p: CliProcess): CliProcess {
  cleanup.push(() => p.stop());
  return p;
}

const CHECK_IDS = [
  'node',
  'os',
  'cpu',
  'backend',
  'model',
  'memory',
  'disk',
  'data-dir',
  'ports',
  'bootstraps',
];

describe('token.place doctor', () => {
  it('passes on this machine (nothing fails), one line per check', async () => {
    const { code, output } = await runCli([
      'doctor',
      '--api-port',
      '0',
      '--data-dir',
      await tempDir(),
    ]);
    expect(code, output).toBe(0);
    for (const title of [
      'Node.js',
      'System',
      'CPU',
      'Backend',
      'Model',
      'Memory',
      'Disk',
      'Data dir',
      'Ports',
      'Bootstraps',
    ]) {
      expect(output).toMatch(new RegExp(`^  (PASS|WARN)  ${title}\\s`, 'm'));
    }
    expect(output).not.toMatch(/^ {2}FAIL/m);
    expect(output).toMatch(/Recommended for this machine/);
    expect(output).toMatch(/--threads \d+ --max-concurrency \d+ --context-size \d+/);
    expect(output).toMatch(/Result: (PASS|WARN)/);
  });

  it('--json: stable fields, an overall status, and the exit code', async () => {
    const { code, output } = await runCli([
      'doctor',
      '--json',
      '--api-port',
      '0',
      '--data-dir',
      await tempDir(),
    ]);
    expect(code).toBe(0);
    const report = JSON.parse(output) as {
      status: string;
      exitCode: number;
      tokenplace: string;
      checks: Array<{ id: string; status: string; summary: string; data: object }>;
      machine: Record<string, unknown>;
      recommendation: Record<string, unknown>;
    };
    expect(['pass', 'warn']).toContain(report.status);
    expect(report.exitCode).toBe(0);
    expect(report.checks.map((c) => c.id)).toEqual(CHECK_IDS);
    for (const check of report.checks) {
      expect(['pass', 'warn', 'fail']).toContain(check.status);
      expect(check.summary).not.toBe('');
    }
    expect(report.machine).toMatchObject({
      physicalCores: expect.any(Number),
      memoryBytes: expect.any(Number),
      backend: expect.stringMatching(/^(cpu|cuda|metal|vulkan)$/),
    });
    expect(report.recommendation).toMatchObject({
      size: expect.any(String),
      model: expect.stringMatching(/^hf:/),
      threads: expect.any(Number),
      maxConcurrency: expect.any(Number),
      contextSize: expect.any(Number),
    });
  });

  it('exits 1 when a check fails: a model that is not there, a port in use, a bootstrap that does not answer', async () => {
    const dir = await tempDir();
    const node = track(startCli(['node', '--api-port', '0', '--data-dir', join(dir, 'node')]));
    const [, port] = await node.waitFor(/OpenAI API\s+http:\/\/127\.0\.0\.1:(\d+)\/v1/);
    const { code, output } = await runCli([
      'doctor',
      '--json',
      '--model',
      join(dir, 'missing.gguf'),
      '--api-port',
      port!,
      '--bootstrap',
      '/ip4/127.0.0.1/tcp/1/ws/p2p/12D3KooWH9WgfAcVvsUG45ujYEtkg9ZSRTzRdBTXK1mMPhXRs4Vc',
      '--timeout',
      '2',
    ]);
    expect(code).toBe(1);
    const report = JSON.parse(output) as {
      status: string;
      checks: Array<{ id: string; status: string; summary: string }>;
    };
    expect(report.status).toBe('fail');
    const byId = Object.fromEntries(report.checks.map((c) => [c.id, c]));
    expect(byId.model).toMatchObject({
      status: 'fail',
      summary: expect.stringContaining('no such file'),
    });
    expect(byId.ports).toMatchObject({
      status: 'warn',
      summary: expect.stringContaining('running token.place node'),
    });
    expect(byId.bootstraps).toMatchObject({
      status: 'fail',
      summary: expect.stringContaining('ECONNREFUSED'),
    });
  });

  it('checks a bootstrap started on loopback with a real libp2p dial', async () => {
    const dir = await tempDir();
    const bootstrap = track(
      startCli([
        'bootstrap',
        '--listen',
        '/ip4/127.0.0.1/tcp/0/ws',
        '--http',
        '127.0.0.1:0',
        '--data-dir',
        dir,
        '--allow-private-addresses',
      ]),
    );
    const [, addr] = await bootstrap.waitFor(/Multiaddrs\s+(\S+\/p2p\/\w+)/);
    const { code, output } = await runCli(['doctor', '--api-port', '0', '--bootstrap', addr!]);
    expect(code, output).toBe(0);
    expect(output).toMatch(
      /PASS {2}Bootstraps\s+\S+ answered \(connected in \d+ ms, ping \d+ ms, PeerId verified\)/,
    );
  });

  it('reads a node config file, answers --help at once, and refuses bad options with exit code 2', async () => {
    const dir = await tempDir();
    const config = join(dir, 'node.json');
    await writeFile(config, JSON.stringify({ model: 'none', apiPort: 0, dataDir: dir }));
    const fromFile = await runCli(['doctor', '--config', config]);
    expect(fromFile.code, fromFile.output).toBe(0);
    expect(fromFile.output).toMatch(/Model\s+none: the node routes every request to the mesh/);

    const help = await runCli(['doctor', '--help']);
    expect(help.code).toBe(0);
    for (const flag of [
      '--model',
      '--data-dir',
      '--api-port',
      '--bootstrap',
      '--bootstrap-http',
      '--json',
      '--config',
    ]) {
      expect(help.output).toContain(flag);
    }
    const bad = await runCli(['doctor', '--api-port', 'x']);
    expect(bad.code).toBe(2);
    expect(bad.output).toContain('token.place doctor: --api-port: expected an integer');
  });
});
