// Config files as users run them: the built CLI with `--config <file.json>` (run `npm run
// build` first).
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
  const dir = await mkdtemp(join(tmpdir(), 'tokenplace-cli-config-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function track(p: CliProcess): CliProcess {
  cleanup.push(() => p.stop());
  return p;
}

describe('--config', () => {
  it('token.place node runs with the settings of a JSON file; flags and environment win over it', async () => {
    const dir = await tempDir();
    const config = join(dir, 'node.json');
    await writeFile(
      config,
      JSON.stringify(
        {
          model: 'demo',
          'data-dir': join(dir, 'data'),
          apiPort: 1,
          maxQueue: 3,
          logLevel: 'error',
        },
        null,
        2,
      ),
    );
    // apiPort 1 from the file is overridden by the flag; logLevel by the environment.
    const node = track(
      startCli(['node', '--config', config, '--api-port', '0'], { TOKENPLACE_LOG_LEVEL: 'info' }),
    );
    const [, url] = await node.waitFor(/OpenAI API\s+(http:\/\/127\.0\.0\.1:\d+\/v1)/);
    expect(url).not.toContain(':1/');
    expect((await fetch(`${url}/models`)).status).toBe(200);
    await node.waitFor(/GET \/v1\/models 200 \d+ ms/); // info level: from the environment
    expect(await node.stop()).toBe(0);
  });

  it('TOKENPLACE_CONFIG works like --config, and bad files are refused with the file and the key', async () => {
    const dir = await tempDir();
    const bad = join(dir, 'bad.json');
    await writeFile(bad, '{ "apiPort": 8000, "threds": 4 }');
    const unknown = await runCli(['node'], { TOKENPLACE_CONFIG: bad });
    expect(unknown.code).toBe(2);
    expect(unknown.output).toContain(`token.place node: ${bad}: unknown setting 'threds'`);

    const broken = join(dir, 'broken.json');
    await writeFile(broken, '{\n  "apiPort": 8000,\n}\n');
    const syntax = await runCli(['bootstrap', '--config', broken]);
    expect(syntax.code).toBe(2);
    expect(syntax.output).toContain(
      `token.place bootstrap: ${broken}: not valid JSON at line 3, column 1`,
    );

    const missing = await runCli(['start', '--config', join(dir, 'nope.json')]);
    expect(missing.code).toBe(2);
    expect(missing.output).toContain(
      `token.place start: config file ${join(dir, 'nope.json')} not found`,
    );
  });

  it('token.place start reads its own file (TOKENPLACE_CONFIG), which the node and bootstrap inside do not read as theirs', async () => {
    const dir = await tempDir();
    const config = join(dir, 'start.json');
    // httpPort and p2pPort are start's own settings: a node or a bootstrap would refuse them.
    await writeFile(
      config,
      JSON.stringify({ apiPort: 0, httpPort: 0, p2pPort: 0, dataDir: join(dir, 'data') }),
    );
    const start = track(startCli(['start'], { TOKENPLACE_CONFIG: config }));
    await start.waitFor(/Press Ctrl-C to stop/);
    expect(start.output()).toMatch(/OpenAI API\s+http:\/\/127\.0\.0\.1:\d+\/v1/);
    expect(start.output()).not.toMatch(/unknown setting/);
    expect(await start.stop()).toBe(0);
  });

  it('token.place bootstrap runs from a config file', async () => {
    const dir = await tempDir();
    const config = join(dir, 'bootstrap.json');
    await writeFile(
      config,
      JSON.stringify({
        listen: ['/ip4/127.0.0.1/tcp/0/ws'],
        http: '127.0.0.1:0',
        dataDir: join(dir, 'data'),
        allowPrivateAddresses: true,
        plainGateway: false,
      }),
    );
    const bootstrap = track(startCli(['bootstrap'], { TOKENPLACE_BOOTSTRAP_CONFIG: config }));
    await bootstrap.waitFor(/Press Ctrl-C/);
    expect(bootstrap.output()).toMatch(
      /OpenAI API\s+http:\/\/127\.0\.0\.1:\d+\/v1 \(encrypted mode only\)/,
    );
    expect(bootstrap.output()).toContain(join(dir, 'data'));
    expect(await bootstrap.stop()).toBe(0);
  });
});
