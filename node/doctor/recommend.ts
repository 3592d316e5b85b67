/**
 * Which model size suits a machine: a small table by memory, capped for small CPUs, and
 * the `--threads`, `--max-concurrency` and `--context-size` the node would pick for it.
 * The same table is in docs/NODE.md and docs/RASPBERRY-PI.md.
 *
 * | memory (RAM or cgroup limit) | model size                   | example (file size)                     |
 * | ---------------------------- | ---------------------------- | --------------------------------------- |
 * | up to 3 GiB                  | up to 1B at Q4_K_M           | Llama 3.2 1B Instruct Q4_K_M (0.8 GB)   |
 * | up to 6 GiB                  | 1–3B at Q4_K_M               | Llama 3.2 3B Instruct Q4_K_M (2.0 GB)   |
 * | up to 12 GiB                 | 7–8B at Q4_K_M               | Llama 3.1 8B Instruct Q4_K_M (4.9 GB)   |
 * | up to 24 GiB                 | 13–14B at Q4_K_M             | Qwen2.5 14B Instruct Q4_K_M (9.0 GB)    |
 * | up to 48 GiB                 | 30–32B at Q4_K_M             | Qwen2.5 32B Instruct Q4_K_M (19.9 GB)   |
 * | more                         | 70B at Q4_K_M                | Llama 3.3 70B Instruct Q4_K_M (42.5 GB) |
 *
 * With 4 or fewer physical cores and no GPU (a Raspberry Pi, a small VPS), the advice
 * stops at 1–3B: bigger models fit in memory, but generate at under ~2 tokens a second.
 */
import { defaultThreads, planSizing } from '../engine/defaults.js';
import type { MemoryShape } from '../engine/defaults.js';

const GIB = 1024 ** 3;

/** A model the table names, with the GGUF header figures the sizing needs. */
export interface ExampleModel {
  name: string;
  /** What to pass to `--model`. */
  model: string;
  shape: MemoryShape & { trainedContext: number };
}

export interface ModelTier {
  /** The tier applies up to this much memory (GiB). */
  upToGiB: number;
  /** In words: `1–3B at Q4_K_M`. */
  size: string;
  example: ExampleModel;
}

const example = (
  name: string,
  model: string,
  fileBytes: number,
  [layers, kvHeads, headDim, headCount, vocabularySize, trainedContext]: readonly number[],
): ExampleModel => ({
  name,
  model,
  shape: {
    fileBytes,
    kvElementsPerToken: layers! * kvHeads! * headDim! * 2,
    headCount: headCount!,
    vocabularySize: vocabularySize!,
    trainedContext: trainedContext!,
  },
});

// [layers, KV heads, head size, heads, vocabulary, trained context] from each GGUF header.
export const MODEL_TIERS: readonly ModelTier[] = [
  {
    upToGiB: 3,
    size: 'up to 1B at Q4_K_M',
    example: example(
      'Llama 3.2 1B Instruct Q4_K_M (0.8 GB)',
      'hf:bartowski/Llama-3.2-1B-Instruct-GGUF/Llama-3.2-1B-Instruct-Q4_K_M.gguf',
      807_694_464,
      [16, 8, 64, 32, 128_256, 131_072],
    ),
  },
  {
    upToGiB: 6,
    size: '1–3B at Q4_K_M',
    example: example(
      'Llama 3.2 3B Instruct Q4_K_M (2.0 GB)',
      'hf:bartowski/Llama-3.2-3B-Instruct-GGUF/Llama-3.2-3B-Instruct-Q4_K_M.gguf',
      2_019_377_696,
      [28, 8, 128, 24, 128_256, 131_072],
    ),
  },
  {
    upToGiB: 12,
    size: '7–8B at Q4_K_M',
    example: example(
      'Llama 3.1 8B Instruct Q4_K_M (4.9 GB)',
      'hf:bartowski/Meta-Llama-3.1-8B-Instruct-GGUF/Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf',
      4_920_734_016,
      [32, 8, 128, 32, 128_256, 131_072],
    ),
  },
  {
    upToGiB: 24,
    size: '13–14B at Q4_K_M',
    example: example(
      'Qwen2.5 14B Instruct Q4_K_M (9.0 GB)',
      'hf:bartowski/Qwen2.5-14B-Instruct-GGUF/Qwen2.5-14B-Instruct-Q4_K_M.gguf',
      8_988_110_976,
      [48, 8, 128, 40, 152_064, 32_768],
    ),
  },
  {
    upToGiB: 48,
    size: '30–32B at Q4_K_M',
    example: example(
      'Qwen2.5 32B Instruct Q4_K_M (19.9 GB)',
      'hf:bartowski/Qwen2.5-32B-Instruct-GGUF/Qwen2.5-32B-Instruct-Q4_K_M.gguf',
      19_851_336_256,
      [64, 8, 128, 40, 152_064, 32_768],
    ),
  },
  {
    upToGiB: Infinity,
    size: '70B at Q4_K_M',
    example: example(
      'Llama 3.3 70B Instruct Q4_K_M (42.5 GB)',
      'hf:bartowski/Llama-3.3-70B-Instruct-GGUF/Llama-3.3-70B-Instruct-Q4_K_M.gguf',
      42_520_395_584,
      [80, 8, 128, 64, 128_256, 131_072],
    ),
  },
];

/** The tier small CPUs stop at. */
const SMALL_CPU_TIER = 1;
/** At most this many physical cores counts as a small CPU (without a GPU). */
export const SMALL_CPU_CORES = 4;

export interface Recommendation {
  /** In words: `1–3B at Q4_K_M`. */
  size: string;
  /** The example model: name and `--model` value. */
  example: string;
  model: string;
  /** Why the advice stops where it does, when a small CPU capped it. */
  note?: string;
  /** What `token.place node` picks by default for the example model on this machine. */
  threads: number;
  maxConcurrency: number;
  contextSize: number;
}

/**
 * The model size for a machine with `memoryBytes` and `physicalCores`, and the settings
 * the node would use for the example model. `gpu` says a GPU backend works (no cap for
 * small CPUs then).
 */
export function recommendModel(
  memoryBytes: number,
  physicalCores: number,
  gpu: boolean,
): Recommendation {
  let index = MODEL_TIERS.findIndex((t) => memoryBytes <= t.upToGiB * GIB);
  if (index < 0) index = MODEL_TIERS.length - 1;
  let note: string | undefined;
  if (!gpu && physicalCores <= SMALL_CPU_CORES && index > SMALL_CPU_TIER) {
    index = SMALL_CPU_TIER;
    note = `bigger models fit in memory, but ${physicalCores} CPU cores generate them at under ~2 tokens a second`;
  }
  const tier = MODEL_TIERS[index]!;
  const plan = planSizing({
    builtIn: false,
    physicalCores,
    memoryBytes,
    shape: tier.example.shape,
    fitToMemory: !gpu,
  });
  return {
    size: tier.size,
    example: tier.example.name,
    model: tier.example.model,
    ...(note != null ? { note } : {}),
    threads: defaultThreads(false, physicalCores),
    maxConcurrency: plan.maxConcurrency,
    contextSize: plan.contextSize,
  };
}
