// Config files for every role: `--config <file.json>` (and TOKENPLACE_CONFIG /
// TOKENPLACE_BOOTSTRAP_CONFIG), keyed by camelCase or kebab-case option names, validated
// with errors that name the file and the key; flags > environment > file > defaults.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBootstrapConfig } from '../../bootstrap/config.js';
import { loadNodeConfig } from '../../node/config.js';
import { loadDoctorConfig } from '../../node/doctor/index.js';
import {
  ConfigError,
  configOption,
  parseConfigText,
  parseOptionsWithConfig,
  type OptionDefs,
} from '../../protocol/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tp-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let count = 0;
async function file(content: string | object): Promise<string> {
  const path = join(dir, `config-${++count}.json`);
  await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('parseConfigText', () => {
  it.each([
    [
      '{"apiPort": 8000,\n  }',
      'c.json: not valid JSON at line 2, column 3: Expected double-quoted property name',
    ],
    ['{"apiPort": ', 'c.json: not valid JSON at line 1, column 13: Unexpected end of JSON input'],
    [
      '{"a": 1}\n\nx',
      'c.json: not valid JSON at line 3, column 1: Unexpected non-whitespace character after JSON',
    ],
    ["{'apiPort': 1}", 'c.json: not valid JSON at line 1, column 2'],
    ['', 'c.json: not valid JSON at line 1, column 1: Unexpected end of JSON input'],
  ])('%j: %s', (text, message) => {
    expect(errorOf(() => parseConfigText(text, 'c.json')).message).toContain(message);
  });

  it.each([
    ['[1, 2]', 'an array'],
    ['null', 'null'],
    ['"apiPort"', 'string'],
    ['42', 'number'],
  ])('%s is not an object of settings', (text, kind) => {
    expect(errorOf(() => parseConfigText(text, 'c.json')).message).toBe(
      `c.json: expected a JSON object of settings ({"apiPort": 8000, …}), got ${kind}`,
    );
  });

  it('accepts a byte-order mark (Windows editors write one)', () => {
    expect(parseConfigText('\uFEFF{"apiPort": 1}', 'c.json')).toEqual({ apiPort: 1 });
  });
});

describe('parseOptionsWithConfig', () => {
  const DEFS = {
    config: configOption(),
    apiPort: { type: 'integer', min: 0, max: 65535, default: 8000, description: 'port' },
    model: { type: 'string', default: 'demo', description: 'model' },
    bootstrap: { type: 'list', description: 'bootstraps' },
  } as const satisfies OptionDefs;
  const read = (files: Record<string, string>) => (path: string) => {
    const text = files[path];
    if (text == null) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    return text;
  };

  it('flags > environment > config file > defaults, for each option', () => {
    const files = { 'c.json': '{"api-port": 3, "model": "file", "bootstrap": ["/a"]}' };
    const parse = (argv: string[], env: Record<string, string>) =>
      parseOptionsWithConfig(DEFS, { argv, env, readFile: read(files) });
    expect(parse(['--config', 'c.json'], {})).toMatchObject({
      apiPort: 3,
      model: 'file',
      bootstrap: ['/a'],
    });
    expect(parse([], { TOKENPLACE_CONFIG: 'c.json', TOKENPLACE_API_PORT: '2' })).toMatchObject({
      apiPort: 2,
      model: 'file',
    });
    expect(
      parse(['--config', 'c.json', '--api-port', '1'], { TOKENPLACE_API_PORT: '2' }),
    ).toMatchObject({ apiPort: 1, model: 'file' });
    expect(parse([], {})).toMatchObject({ apiPort: 8000, model: 'demo', bootstrap: [] });
  });

  it('names the file: not found, unreadable, unknown setting, bad value, a nested config', () => {
    const files = {
      'unknown.json': '{"apiPort": 1, "modle": "x"}',
      'bad.json': '{"apiPort": "eighty"}',
      'range.json': '{"api-port": 70000}',
      'nested.json': '{"config": "other.json"}',
    };
    const parse = (path: string) =>
      errorOf(() =>
        parseOptionsWithConfig(DEFS, { argv: ['--config', path], env: {}, readFile: read(files) }),
      ).message;
    expect(parse('missing.json')).toBe('config file missing.json not found');
    expect(parse('unknown.json')).toBe("unknown.json: unknown setting 'modle'");
    expect(parse('bad.json')).toBe('bad.json: apiPort: expected an integer, got "eighty"');
    expect(parse('range.json')).toBe(
      'range.json: api-port: expected an integer from 0 to 65535, got 70000',
    );
    expect(parse('nested.json')).toBe("nested.json: 'config' cannot be set inside a config file");
    const unreadable = errorOf(() =>
      parseOptionsWithConfig(DEFS, {
        argv: ['--config', 'x.json'],
        env: {},
        readFile: () => {
          throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
        },
      }),
    );
    expect(unreadable.message).toBe('cannot read config file x.json: EACCES: permission denied');
  });
});

describe('every role reads its config file', () => {
  it('token.place node: --config and TOKENPLACE_CONFIG, camelCase and kebab-case keys', async () => {
    const path = await file({
      model: '/models/llama.gguf',
      'api-port': 8123,
      apiHost: '0.0.0.0',
      apiKey: 'secret',
      threads: 4,
      'max-concurrency': 1,
      contextSize: 2048,
      bootstrap: [
        '/dns4/relay.example.org/tcp/443/wss/p2p/12D3KooWH9WgfAcVvsUG45ujYEtkg9ZSRTzRdBTXK1mMPhXRs4Vc',
      ],
      allowPrivateAddresses: true,
      dataDir: join(dir, 'node-data'),
    });
    const fromFlag = loadNodeConfig(['--config', path], {});
    expect(fromFlag).toMatchObject({
      model: '/models/llama.gguf',
      apiPort: 8123,
      apiHost: '0.0.0.0',
      apiKey: 'secret',
      threads: 4,
      maxConcurrency: 1,
      contextSize: 2048,
      allowPrivateAddresses: true,
      dataDir: join(dir, 'node-data'),
      maxQueue: 32, // a default
    });
    expect(loadNodeConfig([], { TOKENPLACE_CONFIG: path })).toEqual(fromFlag);
    expect(
      loadNodeConfig(['--api-port', '1'], { TOKENPLACE_CONFIG: path, TOKENPLACE_THREADS: '2' }),
    ).toMatchObject({ apiPort: 1, threads: 2, contextSize: 2048 });
  });

  it('token.place node: errors name the file and the key', async () => {
    const unknown = await file({ apiPort: 1, maxConcurency: 2 });
    expect(errorOf(() => loadNodeConfig(['--config', unknown], {})).message).toBe(
      `${unknown}: unknown setting 'maxConcurency'`,
    );
    const bad = await file({ gpu: 'maybe' });
    expect(errorOf(() => loadNodeConfig(['--config', bad], {})).message).toBe(
      `${bad}: gpu: expected one of auto, off, got "maybe"`,
    );
    const badList = await file({ bootstrap: [42] });
    expect(errorOf(() => loadNodeConfig(['--config', badList], {})).message).toBe(
      `${badList}: bootstrap: expected a list of non-empty strings, got [42]`,
    );
    const broken = await file('{\n  "apiPort": 8000\n  "model": "demo"\n}');
    expect(errorOf(() => loadNodeConfig(['--config', broken], {})).message).toBe(
      `${broken}: not valid JSON at line 3, column 3: Expected ',' or '}' after property value`,
    );
    expect(
      errorOf(() => loadNodeConfig([], { TOKENPLACE_CONFIG: join(dir, 'nope.json') })).message,
    ).toBe(`config file ${join(dir, 'nope.json')} not found`);
    expect(errorOf(() => loadNodeConfig(['--config', dir], {})).message).toBe(
      `config file ${dir} is a directory`,
    );
  });

  it('token.place bootstrap: --config and TOKENPLACE_BOOTSTRAP_CONFIG, validated with the same checks as flags', async () => {
    const path = await file({
      listen: ['/ip4/0.0.0.0/tcp/9090/ws'],
      announce: ['/dns4/relay.example.org/tcp/443/wss'],
      http: '127.0.0.1:8080',
      'max-reservations': 512,
      plainGateway: false,
    });
    const config = loadBootstrapConfig(['--config', path], {});
    expect(config).toMatchObject({
      announce: ['/dns4/relay.example.org/tcp/443/wss'],
      http: '127.0.0.1:8080',
      maxReservations: 512,
      plainGateway: false,
      maxConnections: 1000,
    });
    expect(loadBootstrapConfig([], { TOKENPLACE_BOOTSTRAP_CONFIG: path })).toEqual(config);
    // The node's variable is not the bootstrap's: a shell that configures both never crosses them.
    expect(
      loadBootstrapConfig([], { TOKENPLACE_CONFIG: join(dir, 'node-only.json') }).plainGateway,
    ).toBe(true);
    expect(loadBootstrapConfig(['--plain-gateway', '--config', path], {}).plainGateway).toBe(true);
    const bad = await file({ listen: ['/ip4/0.0.0.0/tcp/9090'] });
    expect(errorOf(() => loadBootstrapConfig(['--config', bad], {})).message).toBe(
      `${bad}: listen: /ip4/0.0.0.0/tcp/9090: the bootstrap listens on WebSockets only (/ip4/<addr>/tcp/<port>/ws)`,
    );
  });

  it('token.place doctor: checks the settings of a node config file, validating all of it', async () => {
    const path = await file({ model: 'none', apiPort: 8124, maxQueue: 8, logLevel: 'error' });
    expect(loadDoctorConfig(['--config', path], {})).toMatchObject({
      model: 'none',
      apiPort: 8124,
    });
    expect(loadDoctorConfig(['--api-port', '1'], { TOKENPLACE_CONFIG: path }).apiPort).toBe(1);
    const bad = await file({ maxQueue: -1 });
    expect(errorOf(() => loadDoctorConfig(['--config', bad], {})).message).toBe(
      `${bad}: maxQueue: expected an integer from 0 to 100000, got -1`,
    );
    const notNode = await file({ maxReservations: 1 });
    expect(errorOf(() => loadDoctorConfig(['--config', notNode], {})).message).toBe(
      `${notNode}: unknown setting 'maxReservations'`,
    );
  });
});
