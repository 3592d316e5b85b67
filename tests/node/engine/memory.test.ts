// createEngine against the machine's memory, with real GGUF files and an artificially low
// memory limit (EngineInit.memoryLimitBytes): the refusal before anything loads, the
// context fitted to what there is, and the estimate the engine reports.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createEngine,
  estimateMemory,
  MEMORY_HEADROOM_FRACTION,
  RUNTIME_OVERHEAD_BYTES,
} from '../../../node/engine/index.js';
import { generateDemoGguf, readModelShape } from '../../../node/models/index.js';
import { collect, tempDataDir } from './helpers.js';

const MIB = 1024 ** 2;

describe('createEngine and memory', () => {
  let data: { dir: string; cleanup(): Promise<void> };
  let smallModel: string;
  let longModel: string;

  beforeAll(async () => {
    data = await tempDataDir('memory');
    // A real model file (the demo weights, served as a file: sized like any real model).
    smallModel = join(data.dir, 'tiny-scripted.gguf');
    await writeFile(smallModel, generateDemoGguf('scripted').bytes);
    // Random weights with a longer trained context and a bigger KV cache (4 KiB a token).
    longModel = join(data.dir, 'tiny-long.gguf');
    await writeFile(
      longModel,
      generateDemoGguf('random', { contextLength: 8192, blockCount: 4, embeddingLength: 256 })
        .bytes,
    );
  });
  afterAll(async () => {
    await data?.cleanup();
  });

  it('refuses a model that does not fit, before loading it, saying what it needs and has', async () => {
    const limit = 64 * MIB;
    const started = performance.now();
    const error = (await createEngine({
      model: smallModel,
      dataDir: data.dir,
      threads: 1,
      memoryLimitBytes: limit,
    }).catch((err: unknown) => err)) as Error & { neededBytes: number; limitBytes: number };
    expect(error).toMatchObject({ name: 'InsufficientMemoryError', limitBytes: limit });
    expect(error.neededBytes).toBeGreaterThan(RUNTIME_OVERHEAD_BYTES);
    expect(error.message).toContain(`model tiny-scripted (${smallModel}) does not fit in memory`);
    expect(error.message).toMatch(/needs about 1\d\d MiB \(model 1\.6 MiB \+ KV cache/);
    expect(error.message).toContain('this machine has 64.0 MiB');
    expect(error.message).toContain('token.place doctor');
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it('loads the same model with enough memory, and reports its estimate', async () => {
    const engine = await createEngine({
      model: smallModel,
      dataDir: data.dir,
      threads: 1,
      memoryLimitBytes: 512 * MIB,
    });
    try {
      expect(engine.backend).toBe('cpu');
      expect(engine.memory).toMatchObject({ limitBytes: 512 * MIB, checked: true });
      const shape = await readModelShape(smallModel);
      expect(engine.memory?.estimatedBytes).toBe(
        estimateMemory(shape, engine.contextSize, engine.maxConcurrency).totalBytes,
      );
      const { text } = await collect(
        engine.chat([{ role: 'user', content: 'hi' }], { temperature: 0 }),
      );
      expect(text).toBe('Hello! I am a tiny test model.');
    } finally {
      await engine.close();
    }
  });

  it('fits the default context to the memory there is', async () => {
    const shape = await readModelShape(longModel);
    expect(shape.trainedContext).toBe(8192);
    expect(shape.kvElementsPerToken).toBe(4 * 4 * 64 * 2);
    // Room for 2048 tokens but not for 2304, after the 10 % headroom.
    const budget =
      (estimateMemory(shape, 2048, 1).totalBytes + estimateMemory(shape, 2304, 1).totalBytes) / 2;
    const limit = Math.ceil(budget / (1 - MEMORY_HEADROOM_FRACTION));
    const engine = await createEngine({
      model: longModel,
      dataDir: data.dir,
      threads: 1,
      maxConcurrency: 1,
      memoryLimitBytes: limit,
    });
    try {
      expect(engine.contextSize).toBe(2048);
    } finally {
      await engine.close();
    }
    const roomy = await createEngine({
      model: longModel,
      dataDir: data.dir,
      threads: 1,
      maxConcurrency: 1,
      memoryLimitBytes: 1024 * MIB,
    });
    try {
      expect(roomy.contextSize).toBe(4096);
    } finally {
      await roomy.close();
    }
  });

  it('refuses an explicit context that does not fit, naming --context-size', async () => {
    const shape = await readModelShape(longModel);
    const limit = Math.ceil(estimateMemory(shape, 4096, 1).totalBytes);
    await expect(
      createEngine({
        model: longModel,
        dataDir: data.dir,
        threads: 1,
        maxConcurrency: 1,
        contextSize: 8192,
        memoryLimitBytes: limit,
      }),
    ).rejects.toMatchObject({
      name: 'InsufficientMemoryError',
      message: expect.stringContaining('lower --context-size (now 8192)'),
    });
  });
});
