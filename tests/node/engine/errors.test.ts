import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../../node/engine/index.js';
import { generateDemoGguf } from '../../../node/models/index.js';
import { tempDataDir } from './helpers.js';

describe('createEngine failures', () => {
  let data: { dir: string; cleanup(): Promise<void> };
  const scripted = generateDemoGguf('scripted').bytes;

  beforeAll(async () => {
    data = await tempDataDir('errors');
    await mkdir(join(data.dir, 'files'), { recursive: true });
  });
  afterAll(async () => {
    await data?.cleanup();
  });
  const file = (name: string): string => join(data.dir, 'files', name);

  it('a missing model path gives ModelNotFoundError naming the path', async () => {
    const path = file('missing.gguf');
    await expect(createEngine({ model: path, dataDir: data.dir })).rejects.toMatchObject({
      name: 'ModelNotFoundError',
      message: expect.stringContaining(path),
    });
  });

  it('a file that is not GGUF gives ModelLoadError with the magic it found', async () => {
    const path = file('readme.gguf');
    await writeFile(path, '# not a model\n');
    await expect(createEngine({ model: path, dataDir: data.dir })).rejects.toMatchObject({
      name: 'ModelLoadError',
      message: expect.stringContaining('is not a GGUF model file: it starts with "# no"'),
    });
  });

  it("a truncated GGUF gives ModelLoadError with llama.cpp's real reason, not 'Failed to load model'", async () => {
    const path = file('truncated.gguf');
    await writeFile(path, scripted.subarray(0, 800_000));
    const error = (await createEngine({ model: path, dataDir: data.dir }).catch(
      (err: unknown) => err,
    )) as Error;
    expect(error).toMatchObject({ name: 'ModelLoadError', path });
    // llama.cpp's own words, captured from its log…
    expect(error.message).toMatch(/tensor '[^']+' data is not within the file bounds/);
    // …and our size check.
    expect(error.message).toContain(
      `the file has 800000 bytes but its header needs at least ${scripted.length}`,
    );
    expect(error.message).not.toMatch(/^Failed to load model$/);
  });

  it('a GGUF cut inside its header also gives ModelLoadError with a reason', async () => {
    const path = file('header-only.gguf');
    await writeFile(path, scripted.subarray(0, 2_000));
    const error = (await createEngine({ model: path, dataDir: data.dir }).catch(
      (err: unknown) => err,
    )) as Error;
    expect(error).toMatchObject({ name: 'ModelLoadError' });
    expect(error.message).toMatch(/failed to read|truncated|cannot be read/);
  });

  it('an uncached hf: model with the Hub unreachable fails fast with a clear message', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve)); // now nothing listens there
    const started = performance.now();
    const error = (await createEngine({
      model: 'hf:someone/tiny-repo/tiny-model.gguf',
      dataDir: data.dir,
      hfEndpoint: `http://127.0.0.1:${port}`,
    }).catch((err: unknown) => err)) as Error & { url: string; localPath: string };
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(error).toMatchObject({ name: 'OfflineModelError' });
    expect(error.message).toContain(
      `http://127.0.0.1:${port}/someone/tiny-repo/resolve/main/tiny-model.gguf`,
    );
    expect(error.message).toContain(join(data.dir, 'models'));
    expect(error.message).toContain('--model /path/file.gguf');
  });

  it('the real Hugging Face endpoint, unreachable from this machine, fails within ~10 s', async () => {
    const started = performance.now();
    const error = (await createEngine({
      model: 'hf:token-place-test/does-not-exist/model.gguf',
      dataDir: data.dir,
      hfEndpoint: 'https://huggingface.co',
    }).catch((err: unknown) => err)) as Error;
    expect(performance.now() - started).toBeLessThan(10_500);
    // Offline (this machine): OfflineModelError naming the URL. With network: the repo does not exist.
    expect(['OfflineModelError', 'ModelNotFoundError']).toContain(error.name);
    expect(error.message).toContain(
      'https://huggingface.co/token-place-test/does-not-exist/resolve/main/model.gguf',
    );
  }, 15_000);

  it('an aborted signal stops createEngine with its reason', async () => {
    const reason = new Error('shutting down');
    await expect(
      createEngine({ model: 'demo', dataDir: data.dir }, { signal: AbortSignal.abort(reason) }),
    ).rejects.toBe(reason);
  });

  it('bad sizes are refused up front', async () => {
    await expect(
      createEngine({ model: 'demo', dataDir: data.dir, maxConcurrency: 0 }),
    ).rejects.toThrow(RangeError);
    await expect(createEngine({ model: 'demo', dataDir: data.dir, threads: 1.5 })).rejects.toThrow(
      RangeError,
    );
    await expect(createEngine({ model: 'demo', dataDir: '' })).rejects.toThrow(RangeError);
  });

  it('still loads a good model afterwards (the llama.cpp log tap keeps working)', async () => {
    const engine = await createEngine({ model: 'demo', dataDir: data.dir });
    await engine.close();
    const path = file('truncated-again.gguf');
    await writeFile(path, scripted.subarray(0, 900_000));
    await expect(createEngine({ model: path, dataDir: data.dir })).rejects.toMatchObject({
      name: 'ModelLoadError',
      message: expect.stringMatching(/data is not within the file bounds/),
    });
  });
});
