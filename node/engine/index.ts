/**
 * The inference engine of a token.place node: node-llama-cpp behind a small streaming
 * API. It loads one model once, runs `maxConcurrency` requests at once on the sequences of
 * one context, queues a bounded number more (FIFO) and refuses the rest with
 * `EngineBusyError` before any token. Chat uses the model's own chat template with exactly
 * the caller's messages; options map literally onto llama.cpp's sampling (OpenAI's
 * defaults, stop sequences, seed, penalties, JSON and JSON-schema grammars). Aborting a
 * request's signal stops it at once and frees its sequence for the next one.
 *
 * Nothing here logs prompts or generated text, at any level.
 *
 * @example
 * ```ts
 * import { createEngine } from './node/engine/index.js';
 *
 * const engine = await createEngine({ model: 'demo', dataDir: '/tmp/token.place' });
 * let answer = '';
 * let usage;
 * for await (const event of engine.chat([{ role: 'user', content: 'Hi!' }], { maxTokens: 64 })) {
 *   if (event.type === 'token') answer += event.text;
 *   else usage = event.usage; // finishReason 'stop', usage { promptTokens: 11, completionTokens: 10 }
 * }
 * await engine.close();
 * ```
 */
export { createEngine } from './engine.js';
export {
  EngineBusyError,
  EngineClosedError,
  InsufficientMemoryError,
  InvalidRequestError,
  ModelLoadError,
  ModelNotFoundError,
  OfflineModelError,
} from './errors.js';
export {
  COMPUTE_BATCH_TOKENS,
  CONTEXT_SIZE_STEP,
  DEFAULT_MAX_QUEUE,
  DEMO_MAX_CONCURRENCY,
  KV_CACHE_BYTES_PER_ELEMENT,
  MAX_DEFAULT_CONCURRENCY,
  MAX_DEFAULT_CONTEXT_SIZE,
  MEMORY_HEADROOM_FRACTION,
  MIN_DEFAULT_CONTEXT_SIZE,
  RUNTIME_OVERHEAD_BYTES,
  defaultContextSize,
  defaultMaxConcurrency,
  defaultThreads,
  estimateMemory,
  formatBytes,
  memoryRefusalMessage,
  physicalCoreCount,
  planSizing,
  systemMemory,
} from './defaults.js';
export type {
  ContextFit,
  MemoryEstimate,
  MemoryShape,
  SizingInput,
  SizingPlan,
} from './defaults.js';
export { disposeLlamaBackends } from './llama-backend.js';
export { DEFAULT_TEMPERATURE, MAX_STOP_SEQUENCES } from './options.js';
export { toGbnfJsonSchema } from './json-schema.js';
export type {
  ChatMessage,
  Engine,
  EngineBackend,
  EngineEvent,
  EngineInit,
  EngineLoad,
  EngineMemory,
  EngineModel,
  EngineProgress,
  EngineTiming,
  EngineUsage,
  GenerationOptions,
  ResponseFormat,
} from './types.js';
export type { ModelMetadata } from '../models/metadata.js';
