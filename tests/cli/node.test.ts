// `token.place node` as users run it: the built CLI in a child process.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { runCli, startCli, type CliProcess } from '../helpers/cli.js';
import { DEMO_ANSWER } from '../helpers/node.js';

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()!();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tokenplace-cli-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function track(p: CliProcess): CliProcess {
  cleanup.push(() => p.stop());
  return p;
}

describe('token.place node', () => {
  it('starts on the demo model, prints a banner with the real URL, serves, and stops cleanly on Ctrl-C', async () => {
    const node = track(startCli(['node', '--api-port', '0', '--data-dir', await tempDir()]));
    const [, url] = await node.waitFor(/OpenAI API\s+(http:\/\/127\.0\.0\.1:\d+\/v1)/);
    const banner = node.output();
    expect(banner).toContain('built-in test model');
    expect(banner).toMatch(/loaded in \d+ ms/);
    expect(banner).toMatch(/Peer ID\s+12D3KooW\w+/);
    expect(banner).toContain('--model hf:');
    const client = new OpenAI({ baseURL: url!, apiKey: 'x', maxRetries: 0 });
    const res = await client.chat.completions.create({
      model: 'demo',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(res.choices[0]!.message.content).toBe(DEMO_ANSWER);
    await node.waitFor(/POST \/v1\/chat\/completions 200 \d+ ms/);
    expect(node.output()).not.toContain('hi"');
    expect(await node.stop()).toBe(0);
  });

  it('keeps its PeerId across restarts (persistent identity in the data dir)', async () => {
    const dir = await tempDir();
    const peerIds: string[] = [];
    for (let i = 0; i < 2; i++) {
      const node = startCli(['node', '--api-port', '0', '--data-dir', dir]);
      const [, peerId] = await node.waitFor(/Peer ID\s+(\w+)/);
      peerIds.push(peerId!);
      expect(await node.stop()).toBe(0);
    }
    expect(peerIds[1]).toBe(peerIds[0]);
  });

  it('reads TOKENPLACE_* environment variables, flags winning over them', async () => {
    const dir = await tempDir();
    const node = track(
      startCli(['node', '--api-port', '0'], { TOKENPLACE_DATA_DIR: dir, TOKENPLACE_API_PORT: '1' }),
    );
    await node.waitFor(/OpenAI API\s+http:\/\/127\.0\.0\.1:(\d+)\/v1/);
    expect(node.output()).not.toMatch(/127\.0\.0\.1:1\/v1/);
  });

  it('prints --help with every flag', async () => {
    const { code, output } = await runCli(['node', '--help']);
    expect(code).toBe(0);
    for (const flag of [
      '--model',
      '--api-host',
      '--api-port',
      '--api-key',
      '--data-dir',
      '--max-concurrency',
      '--max-queue',
      '--threads',
      '--context-size',
    ]) {
      expect(output).toContain(flag);
    }
  });

  it('refuses bad flags and values with a clear message and exit code 2', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['node', '--api-port', 'eighty'], /--api-port: expected an integer/],
      [['node', '--api-port', '70000'], /--api-port: expected an integer from 0 to 65535/],
      [['node', '--bogus'], /unknown option --bogus/],
      [['node', '--gpu', 'maybe'], /--gpu: expected one of auto, off/],
      [['node', '--max-concurrency', '0'], /--max-concurrency/],
    ];
    for (const [args, message] of cases) {
      const { code, output } = await runCli(args);
      expect(code, output).toBe(2);
      expect(output).toMatch(message);
    }
    const env = await runCli(['node'], { TOKENPLACE_API_PORT: 'x' });
    expect(env.code).toBe(2);
    expect(env.output).toMatch(/TOKENPLACE_API_PORT: expected an integer/);
  });

  it('explains a port already in use, and a missing model file', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise((r) => busy.close(r)));
    const port = (busy.address() as { port: number }).port;
    const inUse = await runCli(['node', '--api-port', String(port), '--data-dir', await tempDir()]);
    expect(inUse.code).toBe(1);
    expect(inUse.output).toMatch(new RegExp(`port ${port} .* already in use`));
    const missing = await runCli([
      'node',
      '--model',
      '/nonexistent/model.gguf',
      '--data-dir',
      await tempDir(),
    ]);
    expect(missing.code).toBe(1);
    expect(missing.output).toMatch(/\/nonexistent\/model\.gguf/);
  });
});

describe('token.place', () => {
  it('answers --version and --help, and refuses an unknown command', async () => {
    expect((await runCli(['--version'])).output).toMatch(/^token\.place \d+\.\d+\.\d+/);
    const help = await runCli(['--help']);
    expect(help.output).toContain('node');
    const unknown = await runCli(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.output).toContain("unknown command 'frobnicate'");
  });
});
