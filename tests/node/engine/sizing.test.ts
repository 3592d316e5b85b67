// The engine's sizing rules as pure functions, table-driven: machines from a Raspberry Pi
// to a big server, models from the demo to 70B. Shapes of real models are their published
// GGUF headers (block count, KV heads, head size, vocabulary, trained context) and file sizes.
import { describe, expect, it } from 'vitest';
import {
  CONTEXT_SIZE_STEP,
  MEMORY_HEADROOM_FRACTION,
  MIN_DEFAULT_CONTEXT_SIZE,
  RUNTIME_OVERHEAD_BYTES,
  defaultContextSize,
  estimateMemory,
  formatBytes,
  memoryRefusalMessage,
  planSizing,
  type SizingInput,
} from '../../../node/engine/index.js';

const MIB = 1024 ** 2;
const GIB = 1024 ** 3;

type Shape = SizingInput['shape'];
const shape = (
  fileBytes: number,
  layers: number,
  kvHeads: number,
  headDim: number,
  headCount: number,
  vocabularySize: number,
  trainedContext: number,
): Shape => ({
  fileBytes,
  kvElementsPerToken: layers * kvHeads * headDim * 2,
  headCount,
  vocabularySize,
  trainedContext,
});

// Published GGUF headers (bartowski's Q4_K_M files).
const LLAMA_32_1B = shape(807_694_464, 16, 8, 64, 32, 128_256, 131_072);
const LLAMA_32_3B = shape(2_019_377_696, 28, 8, 128, 24, 128_256, 131_072);
const LLAMA_31_8B = shape(4_920_734_016, 32, 8, 128, 32, 128_256, 131_072);
const LLAMA_33_70B = shape(42_520_395_584, 80, 8, 128, 64, 128_256, 131_072);
// The built-in demo model: 2 layers, 4 KV heads of 32, 307 tokens, 512 trained.
const DEMO = shape(1_635_104, 2, 4, 32, 4, 307, 512);

// What the machines report as total memory (the kernel keeps some of the nominal RAM).
const PI5_2GB = 2.0e9;
const PI5_4GB = 4.1e9;
const PI5_8GB = 8.2e9;

describe('estimateMemory', () => {
  it("matches llama.cpp's KV cache for Llama 3.2 3B (448 MiB at 4096 tokens) and 1B (128 MiB)", () => {
    expect(estimateMemory(LLAMA_32_3B, 4096, 1).kvCacheBytes).toBe(448 * MIB);
    expect(estimateMemory(LLAMA_32_1B, 4096, 1).kvCacheBytes).toBe(128 * MIB);
    expect(estimateMemory(LLAMA_31_8B, 4096, 2).kvCacheBytes).toBe(2 * 512 * MIB);
  });

  it('adds the file, the KV cache, the compute buffer and the runtime', () => {
    const m = estimateMemory(LLAMA_32_3B, 4096, 1);
    expect(m.modelBytes).toBe(LLAMA_32_3B.fileBytes);
    // 512-token batch × the larger of the logits (vocabulary) and the attention scores.
    expect(m.computeBytes).toBe(4 * 512 * 128_256);
    expect(m.runtimeBytes).toBe(RUNTIME_OVERHEAD_BYTES);
    expect(m.totalBytes).toBe(m.modelBytes + m.kvCacheBytes + m.computeBytes + m.runtimeBytes);
    // Long contexts: the attention scores outgrow the logits.
    expect(estimateMemory(LLAMA_32_3B, 8192, 1).computeBytes).toBe(4 * 512 * 24 * 8192);
  });
});

describe('planSizing', () => {
  const cases: Array<{
    name: string;
    input: Omit<SizingInput, 'fitToMemory'> & { fitToMemory?: boolean };
    threads: number;
    maxConcurrency: number;
    contextSize: number;
    fits: boolean;
  }> = [
    {
      name: 'Pi 5 8 GB, Llama 3.2 3B Q4_K_M: 4 threads, 1 request, 4096 tokens',
      input: { builtIn: false, physicalCores: 4, memoryBytes: PI5_8GB, shape: LLAMA_32_3B },
      threads: 4,
      maxConcurrency: 1,
      contextSize: 4096,
      fits: true,
    },
    {
      name: 'Pi 5 4 GB, Llama 3.2 3B Q4_K_M: still fits with a full context',
      input: { builtIn: false, physicalCores: 4, memoryBytes: PI5_4GB, shape: LLAMA_32_3B },
      threads: 4,
      maxConcurrency: 1,
      contextSize: 4096,
      fits: true,
    },
    {
      name: 'Pi 5 2 GB, Llama 3.2 1B Q4_K_M: fits',
      input: { builtIn: false, physicalCores: 4, memoryBytes: PI5_2GB, shape: LLAMA_32_1B },
      threads: 4,
      maxConcurrency: 1,
      contextSize: 4096,
      fits: true,
    },
    {
      name: 'Pi 5 2 GB, Llama 3.2 3B Q4_K_M: does not fit even at the smallest default context',
      input: { builtIn: false, physicalCores: 4, memoryBytes: PI5_2GB, shape: LLAMA_32_3B },
      threads: 4,
      maxConcurrency: 1,
      contextSize: MIN_DEFAULT_CONTEXT_SIZE,
      fits: false,
    },
    {
      name: '6 GiB laptop, Llama 3.1 8B Q4_K_M: the context shrinks to fit',
      input: { builtIn: false, physicalCores: 8, memoryBytes: 6 * GIB, shape: LLAMA_31_8B },
      threads: 8,
      maxConcurrency: 1,
      contextSize: 3328,
      fits: true,
    },
    {
      name: '16 cores, 32 GiB, Llama 3.1 8B: 4 requests at once, full contexts',
      input: { builtIn: false, physicalCores: 16, memoryBytes: 32 * GIB, shape: LLAMA_31_8B },
      threads: 16,
      maxConcurrency: 4,
      contextSize: 4096,
      fits: true,
    },
    {
      name: '64 cores, 48 GiB, Llama 3.3 70B: fewer requests before a shorter context',
      input: { builtIn: false, physicalCores: 64, memoryBytes: 48 * GIB, shape: LLAMA_33_70B },
      threads: 64,
      maxConcurrency: 1,
      contextSize: 4096,
      fits: true,
    },
    {
      name: 'explicit settings are kept, even when they do not fit',
      input: {
        builtIn: false,
        physicalCores: 4,
        memoryBytes: PI5_2GB,
        shape: LLAMA_32_1B,
        threads: 2,
        maxConcurrency: 2,
        contextSize: 32_768,
      },
      threads: 2,
      maxConcurrency: 2,
      contextSize: 32_768,
      fits: false,
    },
    {
      name: 'a discrete GPU holds the model: the context is not fitted to RAM',
      input: {
        builtIn: false,
        physicalCores: 8,
        memoryBytes: 2 * GIB,
        shape: LLAMA_31_8B,
        fitToMemory: false,
      },
      threads: 8,
      maxConcurrency: 1,
      contextSize: 4096,
      fits: false,
    },
    {
      name: 'the demo model: 1 thread, 2 requests, its trained 512 tokens',
      input: { builtIn: true, physicalCores: 2, memoryBytes: 1 * GIB, shape: DEMO },
      threads: 1,
      maxConcurrency: 2,
      contextSize: 512,
      fits: true,
    },
  ];

  it.each(cases)('$name', ({ input, threads, maxConcurrency, contextSize, fits }) => {
    const plan = planSizing({ fitToMemory: true, ...input });
    expect(plan).toMatchObject({ threads, maxConcurrency, contextSize, fits });
    expect(plan.memory).toEqual(estimateMemory(input.shape, contextSize, maxConcurrency));
    if (input.contextSize == null && (input.fitToMemory ?? true) && fits) {
      // A default context stays within the headroom.
      expect(plan.memory.totalBytes).toBeLessThanOrEqual(
        input.memoryBytes * (1 - MEMORY_HEADROOM_FRACTION),
      );
    }
  });
});

describe('defaultContextSize with memory', () => {
  it('is the largest multiple of 256 that fits, never below 1024, never above the ceiling', () => {
    for (let gib = 5; gib <= 8; gib += 0.25) {
      const memoryBytes = gib * GIB;
      const size = defaultContextSize(131_072, { memoryBytes, shape: LLAMA_31_8B, sequences: 1 });
      expect(size).toBeGreaterThanOrEqual(MIN_DEFAULT_CONTEXT_SIZE);
      expect(size).toBeLessThanOrEqual(4096);
      expect(size % CONTEXT_SIZE_STEP).toBe(0);
      const budget = memoryBytes * (1 - MEMORY_HEADROOM_FRACTION);
      if (size > MIN_DEFAULT_CONTEXT_SIZE) {
        expect(estimateMemory(LLAMA_31_8B, size, 1).totalBytes).toBeLessThanOrEqual(budget);
      }
      if (size < 4096) {
        expect(estimateMemory(LLAMA_31_8B, size + CONTEXT_SIZE_STEP, 1).totalBytes).toBeGreaterThan(
          budget,
        );
      }
    }
  });

  it('keeps a small trained context as it is', () => {
    expect(defaultContextSize(512, { memoryBytes: 1 * GIB, shape: DEMO, sequences: 2 })).toBe(512);
    expect(defaultContextSize(2000)).toBe(2000);
  });
});

describe('the refusal message', () => {
  it('says what is needed, what there is, and what to do', () => {
    const plan = planSizing({
      builtIn: false,
      physicalCores: 4,
      memoryBytes: PI5_2GB,
      shape: LLAMA_32_3B,
      fitToMemory: true,
    });
    const message = memoryRefusalMessage(
      'model llama-3.2-3b-instruct-q4_k_m',
      plan,
      { totalBytes: PI5_2GB, availableBytes: 1.5e9 },
      {},
    );
    expect(message).toContain('model llama-3.2-3b-instruct-q4_k_m does not fit in memory');
    expect(message).toContain(`needs about ${formatBytes(plan.memory.totalBytes)}`);
    expect(message).toContain('this machine has 1.9 GiB (1.4 GiB available now)');
    expect(message).toContain('1 × 1024 tokens');
    expect(message).toMatch(/smaller model .*Q4_K_M.*token\.place doctor/);
    expect(message).toContain('lower --context-size (now 1024)');
  });

  it('formats bytes in binary units', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1_635_104)).toBe('1.6 MiB');
    expect(formatBytes(448 * MIB)).toBe('448 MiB');
    expect(formatBytes(2_019_377_696)).toBe('1.9 GiB');
  });
});
