import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_MODEL_SHA256, generateDemoGguf } from '../../../node/models/demo-gguf.js';
import {
  HASH_CACHE_SUFFIX,
  modelIdFromFileName,
  readModelMetadata,
} from '../../../node/models/metadata.js';
import { modelsDir, parseHfUri, resolveModel } from '../../../node/models/resolve.js';

/** The error `promise` rejects with; fails the test when it resolves. */
async function rejection<T = Error>(promise: Promise<unknown>): Promise<T> {
  try {
    await promise;
  } catch (err) {
    return err as T;
  }
  throw new Error('expected a rejection');
}

/** A loopback port with nothing listening: connections are refused at once. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('resolveModel', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'tp-resolve-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });
  const dataDir = (name: string): string => join(root, name);

  it('writes the demo model on first use and reuses it after', async () => {
    const dir = dataDir('demo');
    const first = await resolveModel('demo', { dataDir: dir });
    expect(first).toMatchObject({ id: 'demo', builtIn: true, source: 'built-in' });
    expect(first.path).toBe(join(modelsDir(dir), 'demo-scripted.gguf'));
    expect(first.sha256).toBe(DEMO_MODEL_SHA256.scripted);
    const written = await stat(first.path);
    // Make the file look old: a rewrite would give it a new mtime.
    await utimes(first.path, new Date(1_000_000), new Date(1_000_000));
    const second = await resolveModel(undefined, { dataDir: dir });
    expect(second.path).toBe(first.path);
    expect((await stat(second.path)).mtimeMs).toBe(1_000_000);
    expect(written.size).toBe(generateDemoGguf('scripted').bytes.length);
  });

  it('regenerates a demo model whose sha256 is wrong', async () => {
    const dir = dataDir('demo-corrupt');
    const { path } = await resolveModel('demo-random', { dataDir: dir });
    const bytes = await readFile(path);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1);
    await writeFile(path, bytes);
    const again = await resolveModel('demo-random', { dataDir: dir });
    expect(again).toMatchObject({ id: 'demo-random', builtIn: true });
    const fixed = await readFile(again.path);
    expect(Buffer.compare(fixed, generateDemoGguf('random').bytes)).toBe(0);
  });

  it('accepts a local GGUF file and derives the id from its name', async () => {
    const file = join(root, 'My Model-Q4_K_M.GGUF');
    await writeFile(file, generateDemoGguf('scripted').bytes);
    const resolved = await resolveModel(file, { dataDir: dataDir('local') });
    expect(resolved).toMatchObject({
      id: 'my-model-q4_k_m',
      path: file,
      builtIn: false,
      source: 'file',
    });
  });

  it('refuses a missing path, a directory and a file that is not GGUF, with the reason', async () => {
    const missing = join(root, 'nope.gguf');
    await expect(resolveModel(missing, { dataDir: dataDir('x') })).rejects.toMatchObject({
      name: 'ModelNotFoundError',
      message: expect.stringContaining('no such file'),
    });
    await expect(resolveModel(root, { dataDir: dataDir('x') })).rejects.toMatchObject({
      name: 'ModelNotFoundError',
      message: expect.stringContaining('is a directory'),
    });
    const text = join(root, 'notes.gguf');
    await writeFile(text, 'not a model, just text\n');
    await expect(resolveModel(text, { dataDir: dataDir('x') })).rejects.toMatchObject({
      name: 'ModelLoadError',
      message: expect.stringMatching(/not a GGUF model file: it starts with "not "/),
    });
  });

  it('fails fast and clearly for an uncached hf: model when the Hub is unreachable', async () => {
    const port = await closedPort();
    const dir = dataDir('offline');
    const started = performance.now();
    const error = await rejection<Error & { url: string; localPath: string }>(
      resolveModel('hf:someone/tiny-repo/tiny-model.gguf', {
        dataDir: dir,
        hfEndpoint: `http://127.0.0.1:${port}`,
      }),
    );
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(error).toMatchObject({ name: 'OfflineModelError' });
    const url = `http://127.0.0.1:${port}/someone/tiny-repo/resolve/main/tiny-model.gguf`;
    expect(error.url).toBe(url);
    expect(error.localPath.startsWith(modelsDir(dir))).toBe(true);
    expect(error.message).toContain(url);
    expect(error.message).toContain(error.localPath);
    expect(error.message).toContain('--model /path/file.gguf');
  });

  it('finds a cached hf: model with no network at all', async () => {
    const port = await closedPort();
    const dir = dataDir('cached');
    const uri = 'hf:someone/tiny-repo/Tiny-Model.gguf';
    const options = { dataDir: dir, hfEndpoint: `http://127.0.0.1:${port}` };
    const offline = await rejection<{ localPath: string }>(resolveModel(uri, options));
    // Put a model exactly where the error said it would be stored: now it resolves offline.
    await mkdir(modelsDir(dir), { recursive: true });
    await writeFile(offline.localPath, generateDemoGguf('scripted').bytes);
    const resolved = await resolveModel(uri, options);
    expect(resolved).toMatchObject({ id: 'tiny-model', path: offline.localPath, source: 'hf' });
  });

  it('fails fast for a quantization-tag URI when offline, and finds it once cached', async () => {
    const port = await closedPort();
    const dir = dataDir('quant');
    for (const [uri, id] of [
      ['hf:someone/Tiny-GGUF:q4_k_m', 'tiny-q4_k_m'],
      ['hf:someone/tiny-model:Q8_0', 'tiny-model-q8_0'],
    ] as const) {
      const options = { dataDir: dir, hfEndpoint: `http://127.0.0.1:${port}` };
      const error = await rejection<Error & { localPath: string }>(resolveModel(uri, options));
      expect(error).toMatchObject({ name: 'OfflineModelError' });
      expect(error.message).toContain(`http://127.0.0.1:${port}/someone/`);
      // The named cache file is the one node-llama-cpp looks for.
      await mkdir(modelsDir(dir), { recursive: true });
      await writeFile(error.localPath, generateDemoGguf('scripted').bytes);
      await expect(resolveModel(uri, options)).resolves.toMatchObject({
        id,
        path: error.localPath,
      });
    }
  });

  describe('with a local Hub', () => {
    let server: Server;
    let endpoint: string;
    const model = generateDemoGguf('scripted').bytes;
    const requests: string[] = [];

    beforeAll(async () => {
      server = createServer((req, res) => {
        requests.push(`${req.method} ${req.url}`);
        if (!req.url?.startsWith('/someone/tiny-repo/resolve/main/tiny-model.gguf')) {
          res.writeHead(404).end();
          return;
        }
        const range = /bytes=(\d+)-(\d*)/.exec(req.headers.range ?? '');
        const start = range ? Number(range[1]) : 0;
        const end = range?.[2] ? Number(range[2]) + 1 : model.length;
        const headers = {
          'content-type': 'application/octet-stream',
          'accept-ranges': 'bytes',
          'content-length': String(end - start),
          ...(range ? { 'content-range': `bytes ${start}-${end - 1}/${model.length}` } : {}),
        };
        res.writeHead(range ? 206 : 200, headers);
        res.end(req.method === 'HEAD' ? undefined : model.subarray(start, end));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    });
    afterAll(async () => {
      await new Promise((resolve) => server.close(resolve));
    });

    it('says a missing file does not exist (HTTP 404)', async () => {
      await expect(
        resolveModel('hf:someone/tiny-repo/missing.gguf', {
          dataDir: dataDir('hub404'),
          hfEndpoint: endpoint,
        }),
      ).rejects.toMatchObject({
        name: 'ModelNotFoundError',
        message: expect.stringContaining('HTTP 404'),
      });
    });

    it('preflights, then downloads with progress, then serves from the cache', async () => {
      const dir = dataDir('hub');
      requests.length = 0;
      const progress: Array<{ downloadedBytes: number; totalBytes: number }> = [];
      const resolved = await resolveModel('hf:someone/tiny-repo/tiny-model.gguf', {
        dataDir: dir,
        hfEndpoint: endpoint,
        onDownloadProgress: (p) => progress.push(p),
      });
      expect(resolved).toMatchObject({ id: 'tiny-model', source: 'hf', builtIn: false });
      expect(resolved.path.startsWith(modelsDir(dir))).toBe(true);
      expect(Buffer.compare(await readFile(resolved.path), model)).toBe(0);
      expect(requests[0]).toMatch(/^HEAD \/someone\/tiny-repo\/resolve\/main\/tiny-model\.gguf/);
      expect(progress.length).toBeGreaterThan(0);
      expect(progress.at(-1)).toEqual({ downloadedBytes: model.length, totalBytes: model.length });

      const before = requests.length;
      const again = await resolveModel('hf:someone/tiny-repo/tiny-model.gguf', {
        dataDir: dir,
        hfEndpoint: endpoint,
      });
      expect(again.path).toBe(resolved.path);
      expect(requests.length).toBe(before); // no network for a cached model
    });
  });
});

describe('readModelMetadata', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'tp-meta-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('describes the demo model for the model card', async () => {
    const { path, id, sha256 } = await resolveModel('demo', { dataDir: root });
    const meta = await readModelMetadata(path, { id });
    expect(meta).toEqual({
      id: 'demo',
      family: 'llama',
      parameters: generateDemoGguf('scripted').parameters,
      quantization: 'F32',
      contextLength: 512,
      ggufSha256: sha256,
    });
  });

  it('hashes a file once and caches the hash next to it, keyed by size and mtime', async () => {
    const file = join(root, 'Copy.gguf');
    await copyFile((await resolveModel('demo-random', { dataDir: root })).path, file);
    const meta = await readModelMetadata(file);
    expect(meta.id).toBe('copy');
    expect(meta.ggufSha256).toBe(DEMO_MODEL_SHA256.random);
    const cacheFile = `${file}${HASH_CACHE_SUFFIX}`;
    const cache = JSON.parse(await readFile(cacheFile, 'utf8')) as Record<string, unknown>;
    expect(cache).toMatchObject({
      sha256: DEMO_MODEL_SHA256.random,
      size: (await stat(file)).size,
    });

    // A cache entry that matches size and mtime is trusted (so restarts skip the hashing)…
    const fake = 'ab'.repeat(32);
    await writeFile(cacheFile, JSON.stringify({ ...cache, sha256: fake }));
    expect((await readModelMetadata(file)).ggufSha256).toBe(fake);
    // …and one whose mtime no longer matches is not.
    await utimes(file, new Date(), new Date(Date.now() + 5_000));
    expect((await readModelMetadata(file)).ggufSha256).toBe(DEMO_MODEL_SHA256.random);
  });

  it('refuses an id outside the protocol alphabet', async () => {
    const { path } = await resolveModel('demo', { dataDir: root });
    await expect(readModelMetadata(path, { id: 'bad id!' })).rejects.toThrow(RangeError);
  });
});

describe('model ids and hf: URIs', () => {
  it('derives ids from file names', () => {
    expect(modelIdFromFileName('/m/Qwen2.5-0.5B-Instruct-Q4_K_M.gguf')).toBe(
      'qwen2.5-0.5b-instruct-q4_k_m',
    );
    expect(modelIdFromFileName('weird name (1).GGUF')).toBe('weird-name-1-');
    expect(modelIdFromFileName('.gguf')).toBe('model');
  });

  it('parses file and quantization URIs', () => {
    expect(parseHfUri('hf:a/b/dir/c.gguf#dev', 'https://hub.example')).toMatchObject({
      kind: 'file',
      branch: 'dev',
      url: 'https://hub.example/a/b/resolve/dev/dir/c.gguf',
    });
    expect(parseHfUri('hf:a/b-GGUF:q8_0', 'https://hub.example/')).toMatchObject({
      kind: 'quant',
      tag: 'Q8_0',
      url: 'https://hub.example/a/b-GGUF',
    });
    expect(() => parseHfUri('hf:a/b/readme.md')).toThrow(
      expect.objectContaining({ name: 'ModelNotFoundError' }),
    );
    expect(() => parseHfUri('hf:a')).toThrow(
      expect.objectContaining({ name: 'ModelNotFoundError' }),
    );
  });
});
