/**
 * How the engine sizes itself when the caller does not say: threads, concurrency, queue
 * and context. The rules are written down in `EngineInit`'s docs; this file is their
 * single implementation.
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism, totalmem } from 'node:os';

/** Waiting requests beyond the running ones. */
export const DEFAULT_MAX_QUEUE = 32;
/** Sequences in the context for the built-in demo models. */
export const DEMO_MAX_CONCURRENCY = 2;
/** The default context per sequence never exceeds this, whatever the model was trained on. */
export const MAX_DEFAULT_CONTEXT_SIZE = 4096;
/** Upper bound of the default concurrency on big hosts. */
export const MAX_DEFAULT_CONCURRENCY = 8;

const GIB = 1024 ** 3;

/**
 * Physical CPU cores: distinct (package, core) pairs in `/proc/cpuinfo` on x86 Linux, so
 * SMT siblings do not count (llama.cpp's math threads gain nothing from them); where the
 * file has no core ids (ARM, macOS, Windows) the logical CPU count. Never more than the
 * CPUs this process may run on, never less than 1.
 */
export async function physicalCoreCount(): Promise<number> {
  const logical = Math.max(1, availableParallelism());
  try {
    const text = await readFile('/proc/cpuinfo', 'utf8');
    const cores = new Set<string>();
    let physicalId = '0';
    for (const line of text.split('\n')) {
      const [key = '', value = ''] = line.split(':').map((part) => part.trim());
      if (key === 'physical id') physicalId = value;
      else if (key === 'core id') cores.add(`${physicalId}/${value}`);
    }
    if (cores.size > 0) return Math.max(1, Math.min(cores.size, logical));
  } catch {
    // not Linux
  }
  return logical;
}

/** Threads: 1 for the demo models, else the physical cores. */
export function defaultThreads(builtIn: boolean, physicalCores: number): number {
  return builtIn ? 1 : Math.max(1, physicalCores);
}

/**
 * Concurrency (sequences in the context):
 * - demo models: 2 (cheap, and it exercises the pool);
 * - ≤ 4 physical cores or ≤ 8 GiB RAM: 1 — a small host (a Raspberry Pi, a laptop) is
 *   faster serving one request with every core than splitting them;
 * - bigger hosts: one sequence per 4 cores (at least 2, at most 8), and no more than one
 *   per 8 GiB of RAM, since every sequence holds its own KV cache.
 */
export function defaultMaxConcurrency(
  builtIn: boolean,
  physicalCores: number,
  memoryBytes: number = totalmem(),
): number {
  if (builtIn) return DEMO_MAX_CONCURRENCY;
  const ramGiB = memoryBytes / GIB;
  if (physicalCores <= 4 || ramGiB <= 8) return 1;
  const byCores = Math.min(MAX_DEFAULT_CONCURRENCY, Math.max(2, Math.floor(physicalCores / 4)));
  return Math.max(1, Math.min(byCores, Math.floor(ramGiB / 8)));
}

/** Context per sequence: min(the model's trained context, 4096); 4096 when unknown. */
export function defaultContextSize(trainedContext: number): number {
  return trainedContext > 0
    ? Math.min(trainedContext, MAX_DEFAULT_CONTEXT_SIZE)
    : MAX_DEFAULT_CONTEXT_SIZE;
}
