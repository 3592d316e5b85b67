/**
 * How the engine sizes itself when the caller does not say: threads, concurrency, queue
 * and context, and whether the model fits in memory at all. The rules are written down
 * in `EngineInit`'s docs (and docs/NODE.md); this file is their single implementation.
 * Everything but {@link physicalCoreCount} and {@link systemMemory} is a pure function
 * of its inputs, so small machines can be tested on a big one.
 *
 * The memory estimate, for a model of file size F:
 *
 *     F                                 the weights (memory-mapped; inference reads all of them)
 *   + kv × 2 B × context × sequences    the KV cache (F16, llama.cpp's default)
 *   + 4 B × batch × max(vocab, heads × context × sequences)
 *                                       the compute buffer: a batch's logits or attention scores
 *   + 160 MiB                           Node.js, libp2p, node-llama-cpp and llama.cpp themselves
 *
 * where `kv` is the model's K and V elements per token over all layers and `batch` is
 * min(512, context). It errs on the high side (flash attention and sliding windows only
 * shrink it).
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism, freemem, totalmem } from 'node:os';
import type { ModelShape } from '../models/metadata.js';

/** Waiting requests beyond the running ones. */
export const DEFAULT_MAX_QUEUE = 32;
/** Sequences in the context for the built-in demo models. */
export const DEMO_MAX_CONCURRENCY = 2;
/** The default context per sequence never exceeds this, whatever the model was trained on. */
export const MAX_DEFAULT_CONTEXT_SIZE = 4096;
/** Upper bound of the default concurrency on big hosts. */
export const MAX_DEFAULT_CONCURRENCY = 8;

const MIB = 1024 ** 2;
const GIB = 1024 ** 3;

/** Bytes per element of llama.cpp's default KV cache type, F16. */
export const KV_CACHE_BYTES_PER_ELEMENT = 2;
/** Tokens llama.cpp evaluates at once (node-llama-cpp's default batch): sizes the compute buffer. */
export const COMPUTE_BATCH_TOKENS = 512;
/**
 * Memory of the process besides the model, its KV cache and compute buffer: Node.js,
 * libp2p, node-llama-cpp and llama.cpp (measured: 110–130 MB RSS serving the demo model).
 */
export const RUNTIME_OVERHEAD_BYTES = 160 * MIB;
/** Share of memory the default context leaves to the operating system and other programs. */
export const MEMORY_HEADROOM_FRACTION = 0.1;
/**
 * The default context is not shrunk below this (or the trained context, if smaller):
 * less cannot hold a chat template, a question and a useful answer.
 */
export const MIN_DEFAULT_CONTEXT_SIZE = 1024;
/** Default contexts below the maximum are multiples of this. */
export const CONTEXT_SIZE_STEP = 256;

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

/** The parts of a model's shape the memory estimate uses. */
export type MemoryShape = Pick<
  ModelShape,
  'fileBytes' | 'kvElementsPerToken' | 'headCount' | 'vocabularySize'
>;

/** What a model needs in memory, by part (bytes). */
export interface MemoryEstimate {
  modelBytes: number;
  kvCacheBytes: number;
  computeBytes: number;
  runtimeBytes: number;
  totalBytes: number;
}

/** The memory a model needs with `sequences` sequences of `contextSize` tokens (see the file's docs). */
export function estimateMemory(
  shape: MemoryShape,
  contextSize: number,
  sequences: number,
): MemoryEstimate {
  const tokens = contextSize * sequences;
  const modelBytes = shape.fileBytes;
  const kvCacheBytes = shape.kvElementsPerToken * KV_CACHE_BYTES_PER_ELEMENT * tokens;
  const batch = Math.min(COMPUTE_BATCH_TOKENS, contextSize);
  const computeBytes = 4 * batch * Math.max(shape.vocabularySize, shape.headCount * tokens);
  const runtimeBytes = RUNTIME_OVERHEAD_BYTES;
  return {
    modelBytes,
    kvCacheBytes,
    computeBytes,
    runtimeBytes,
    totalBytes: modelBytes + kvCacheBytes + computeBytes + runtimeBytes,
  };
}

/** Fit the default context into memory (see {@link defaultContextSize}). */
export interface ContextFit {
  /** Memory the process may use (RAM, or a lower cgroup limit). */
  memoryBytes: number;
  shape: MemoryShape;
  /** Sequences in the context (each holds its own KV cache). */
  sequences: number;
}

/**
 * Context per sequence: min(the model's trained context, 4096), or 4096 when unknown.
 * With `fit`, the largest context (a multiple of 256) whose estimate stays within 90 % of
 * `memoryBytes`, but not below min(1024, that ceiling); the refusal check decides whether
 * even that fits.
 */
export function defaultContextSize(trainedContext: number, fit?: ContextFit): number {
  const ceiling =
    trainedContext > 0
      ? Math.min(trainedContext, MAX_DEFAULT_CONTEXT_SIZE)
      : MAX_DEFAULT_CONTEXT_SIZE;
  if (fit == null) return ceiling;
  const floor = Math.min(ceiling, MIN_DEFAULT_CONTEXT_SIZE);
  const budget = fit.memoryBytes * (1 - MEMORY_HEADROOM_FRACTION);
  const fits = (context: number): boolean =>
    estimateMemory(fit.shape, context, fit.sequences).totalBytes <= budget;
  if (fits(ceiling)) return ceiling;
  for (
    let context = Math.floor((ceiling - 1) / CONTEXT_SIZE_STEP) * CONTEXT_SIZE_STEP;
    context > floor;
    context -= CONTEXT_SIZE_STEP
  ) {
    if (fits(context)) return context;
  }
  return floor;
}

/** What {@link planSizing} needs. Explicit settings are kept as given. */
export interface SizingInput {
  /** One of the built-in demo models. */
  builtIn: boolean;
  physicalCores: number;
  /** Memory the process may use (see {@link systemMemory}). */
  memoryBytes: number;
  shape: MemoryShape & Pick<ModelShape, 'trainedContext'>;
  /**
   * Size the context to `memoryBytes`: true when RAM holds the model (CPU, and Apple's
   * unified memory with Metal); false when a discrete GPU does.
   */
  fitToMemory: boolean;
  threads?: number | undefined;
  maxConcurrency?: number | undefined;
  contextSize?: number | undefined;
}

export interface SizingPlan {
  threads: number;
  maxConcurrency: number;
  contextSize: number;
  memory: MemoryEstimate;
  /** The estimate is within `memoryBytes`. */
  fits: boolean;
}

/**
 * Threads, concurrency and context for a model on a machine, with the memory that takes:
 * - threads: {@link defaultThreads};
 * - concurrency: {@link defaultMaxConcurrency};
 * - context: {@link defaultContextSize}, fitted to memory when `fitToMemory`. Where memory
 *   is short, a default concurrency is lowered (down to 1) before the context is shrunk:
 *   one request with a full context beats several with truncated ones.
 */
export function planSizing(input: SizingInput): SizingPlan {
  const { builtIn, physicalCores, memoryBytes, shape } = input;
  const threads = input.threads ?? defaultThreads(builtIn, physicalCores);
  let maxConcurrency =
    input.maxConcurrency ?? defaultMaxConcurrency(builtIn, physicalCores, memoryBytes);
  let contextSize = input.contextSize;
  if (contextSize == null) {
    const ceiling = defaultContextSize(shape.trainedContext);
    const sized = (sequences: number): number =>
      input.fitToMemory
        ? defaultContextSize(shape.trainedContext, { memoryBytes, shape, sequences })
        : ceiling;
    contextSize = sized(maxConcurrency);
    while (input.maxConcurrency == null && maxConcurrency > 1 && contextSize < ceiling) {
      maxConcurrency--;
      contextSize = sized(maxConcurrency);
    }
  }
  const memory = estimateMemory(shape, contextSize, maxConcurrency);
  return {
    threads,
    maxConcurrency,
    contextSize,
    memory,
    fits: memory.totalBytes <= memoryBytes,
  };
}

/**
 * The memory this process may use: RAM, or the cgroup limit when lower (a container, a
 * systemd `MemoryMax=`); and what is available now (Linux's MemAvailable: free memory
 * plus caches the kernel can drop).
 */
export function systemMemory(): { totalBytes: number; availableBytes: number } {
  let totalBytes = totalmem();
  const constrained = process.constrainedMemory?.();
  if (constrained != null && constrained > 0 && constrained < totalBytes) totalBytes = constrained;
  const available = process.availableMemory?.() ?? freemem();
  return { totalBytes, availableBytes: Math.min(available, totalBytes) };
}

/** `1.9 GiB`, `448 MiB`, `1.6 MiB`, `512 B`: binary units, as RAM is sold and reported. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${Math.round(value)} B`;
  return `${value >= 100 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

/**
 * Why a model does not fit, and what to do: for `InsufficientMemoryError`. `explicit`
 * says which sizes the operator set (advice then names their flags).
 */
export function memoryRefusalMessage(
  model: string,
  plan: SizingPlan,
  memory: { totalBytes: number; availableBytes: number },
  explicit: { contextSize?: boolean; maxConcurrency?: boolean } = {},
): string {
  const m = plan.memory;
  const advice = [
    'use a smaller model or a smaller quantization (Q4_K_M; `token.place doctor` recommends a size for this machine)',
  ];
  if (explicit.contextSize === true || explicit.maxConcurrency === true || m.kvCacheBytes > 0) {
    advice.push(
      `lower --context-size (now ${plan.contextSize})` +
        (plan.maxConcurrency > 1 ? ` or --max-concurrency (now ${plan.maxConcurrency})` : ''),
    );
  }
  advice.push('or run it on a machine with more memory');
  return (
    `${model} does not fit in memory: it needs about ${formatBytes(m.totalBytes)} ` +
    `(model ${formatBytes(m.modelBytes)} + KV cache ${formatBytes(m.kvCacheBytes)} for ` +
    `${plan.maxConcurrency} × ${plan.contextSize} tokens + compute ${formatBytes(m.computeBytes)} + ` +
    `runtime ${formatBytes(m.runtimeBytes)}), but this machine has ${formatBytes(memory.totalBytes)} ` +
    `(${formatBytes(memory.availableBytes)} available now). To fix it: ${advice.join('; ')}.`
  );
}
