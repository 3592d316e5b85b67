import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import {
  defaultContextSize,
  defaultMaxConcurrency,
  defaultThreads,
  physicalCoreCount,
} from '../../../node/engine/index.js';

const GIB = 1024 ** 3;

describe('engine defaults', () => {
  it('threads: 1 for the demo models, else the physical cores', () => {
    expect(defaultThreads(true, 16)).toBe(1);
    expect(defaultThreads(false, 16)).toBe(16);
    expect(defaultThreads(false, 0)).toBe(1);
  });

  it('concurrency: 2 for the demo, 1 on small hosts, more on big ones', () => {
    expect(defaultMaxConcurrency(true, 2, 1 * GIB)).toBe(2);
    expect(defaultMaxConcurrency(false, 4, 64 * GIB)).toBe(1); // Raspberry Pi 5 class
    expect(defaultMaxConcurrency(false, 16, 8 * GIB)).toBe(1); // little RAM
    expect(defaultMaxConcurrency(false, 8, 16 * GIB)).toBe(2);
    expect(defaultMaxConcurrency(false, 16, 32 * GIB)).toBe(4);
    expect(defaultMaxConcurrency(false, 16, 12 * GIB)).toBe(1); // one KV cache per 8 GiB
    expect(defaultMaxConcurrency(false, 128, 1024 * GIB)).toBe(8);
  });

  it('context: the trained context, at most 4096', () => {
    expect(defaultContextSize(512)).toBe(512);
    expect(defaultContextSize(131_072)).toBe(4096);
    expect(defaultContextSize(0)).toBe(4096);
  });

  it('counts physical cores, never more than the usable CPUs', async () => {
    const cores = await physicalCoreCount();
    expect(cores).toBeGreaterThanOrEqual(1);
    expect(cores).toBeLessThanOrEqual(availableParallelism());
  });
});
