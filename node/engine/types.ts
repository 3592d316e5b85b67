/**
 * The engine's public types: how it is created (`EngineInit`), what it serves (`Engine`),
 * and the stream of events a generation yields (`EngineEvent`).
 */
import type { ModelMetadata } from '../models/metadata.js';

/** Progress of `createEngine`: the download of an `hf:` model, then loading the weights. */
export interface EngineProgress {
  phase: 'download' | 'load';
  /** 0 … 1. */
  fraction: number;
  /** Download phase only. */
  downloadedBytes?: number;
  /** Download phase only. */
  totalBytes?: number;
}

export interface EngineInit {
  /**
   * `demo`, `demo-random`, a path to a `.gguf` file, `hf:<owner>/<repo>/<file>.gguf` or
   * `hf:<owner>/<repo>:<QUANT>`.
   * @default 'demo'
   */
  model?: string;
  /** The node's data folder: models are cached in `<dataDir>/models/`. */
  dataDir: string;
  /**
   * The id clients use for the model.
   * @default `demo` / `demo-random`, else derived from the file name
   */
  modelId?: string;
  /**
   * CPU threads for llama.cpp (always set: its own default oversubscribes small machines).
   * @default 1 for the demo models (thread sync costs more than it gains on a tiny model),
   * else the number of physical cores
   */
  threads?: number;
  /**
   * Requests generated at once: one context with this many sequences.
   * @default 2 for the demo models; for real models 1 on hosts with ≤ 4 physical cores or
   * ≤ 8 GiB of RAM, else `clamp(floor(cores / 4), 2, 8)` capped by `floor(RAM GiB / 8)`;
   * lowered (down to 1) when memory is too short for full contexts
   */
  maxConcurrency?: number;
  /**
   * Requests that may wait for a free sequence beyond the running ones; more are refused
   * with `EngineBusyError`.
   * @default 32
   */
  maxQueue?: number;
  /**
   * Context size per sequence, in tokens.
   * @default min(the model's trained context, 4096); where RAM holds the model (CPU,
   * Metal), the largest multiple of 256 whose memory estimate stays within 90 % of
   * `memoryLimitBytes`, but not below 1024
   */
  contextSize?: number;
  /**
   * The memory the model, its KV cache and the runtime must fit in, in bytes. Where RAM
   * holds the model (CPU, Metal), `createEngine` refuses with `InsufficientMemoryError`
   * when the estimate exceeds it, before loading anything.
   * @default the machine's RAM, or the cgroup limit when lower
   */
  memoryLimitBytes?: number;
  /**
   * `auto` picks CUDA, Metal or Vulkan when a prebuilt llama.cpp binary for it works,
   * else the CPU; `false` forces the CPU.
   * @default 'auto' for real models, false for the demo models (deterministic and tiny)
   */
  gpu?: 'auto' | false;
  /** Hugging Face endpoint for `hf:` models. @default `HF_ENDPOINT`, else huggingface.co */
  hfEndpoint?: string;
  /** Progress of the download (hf: models) and of loading the weights. */
  onProgress?(progress: EngineProgress): void;
}

/** The engine's memory estimate and what it was compared with (bytes). */
export interface EngineMemory {
  /** Model + KV cache + compute buffer + runtime, as estimated (see `estimateMemory`). */
  estimatedBytes: number;
  /** The limit: RAM, a cgroup limit, or `memoryLimitBytes`. */
  limitBytes: number;
  /** Memory available when the engine started. */
  availableBytes: number;
  /** Whether RAM holds the model (CPU, Metal), so the estimate was checked against the limit. */
  checked: boolean;
}

export interface EngineLoad {
  /** Requests generating now. */
  active: number;
  /** Requests waiting for a sequence. */
  queued: number;
  maxConcurrency: number;
}

export interface ChatMessage {
  role: 'system' | 'developer' | 'user' | 'assistant';
  content: string;
}

export type ResponseFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | { type: 'json_schema'; schema: Record<string, unknown> };

/** OpenAI-style sampling options. Every field is optional; defaults follow OpenAI. */
export interface GenerationOptions {
  /**
   * Most tokens to generate; `finishReason` is `length` when this ended the answer.
   * @default the room left in the context after the prompt
   */
  maxTokens?: number;
  /** 0 … 2; 0 is greedy. @default 1 */
  temperature?: number;
  /** Nucleus sampling, 0 … 1. @default 1 (off) */
  topP?: number;
  /** Texts that end the answer; the stop text itself is not part of the output. */
  stop?: string[];
  /** Sampling seed: the same seed, options and prompt give the same answer. */
  seed?: number;
  /** −2 … 2: penalize tokens that already appeared. @default 0 */
  presencePenalty?: number;
  /** −2 … 2: penalize tokens by how often they appeared. @default 0 */
  frequencyPenalty?: number;
  /** Constrain the output: `json_object` (any JSON object) or `json_schema`. @default text */
  responseFormat?: ResponseFormat;
  /** Aborting stops the generation at once (or removes the request from the queue). */
  signal?: AbortSignal;
}

export interface EngineUsage {
  /** Prompt tokens as evaluated (after the chat template). */
  promptTokens: number;
  /** Tokens the model generated, including the one that ended the answer. */
  completionTokens: number;
}

/**
 * When the answer's text came out, in milliseconds since its generation started (the
 * request had its sequence): `null` for an answer without text.
 */
export interface EngineTiming {
  firstTokenMs: number | null;
  lastTokenMs: number | null;
}

export type EngineEvent =
  /** A non-empty text delta, in order. */
  | { type: 'token'; text: string }
  | { type: 'end'; finishReason: 'stop' | 'length'; usage: EngineUsage; timing: EngineTiming };

export type EngineBackend = 'cpu' | 'cuda' | 'metal' | 'vulkan';

export interface EngineModel extends ModelMetadata {
  /** Absolute path of the GGUF file. */
  path: string;
  /** One of the built-in demo models. */
  builtIn: boolean;
  /** Milliseconds to load the weights and create the context. */
  loadMs: number;
}

export interface Engine {
  readonly model: EngineModel;
  readonly backend: EngineBackend;
  /** The GPU llama.cpp uses (`NVIDIA GeForce RTX 4090`, …); null on the CPU. */
  readonly gpuName: string | null;
  readonly maxConcurrency: number;
  /** Context size per sequence, in tokens. */
  readonly contextSize: number;
  /** CPU threads llama.cpp uses. */
  readonly threads: number;
  /** The memory estimate the engine was sized with. */
  readonly memory?: EngineMemory;
  /** What the engine is doing now (for the signed model card and routing). */
  load(): EngineLoad;
  /**
   * Answer a conversation with the model's own chat template. Exactly the caller's
   * messages are used (no default system prompt); `system` and `developer` messages
   * become system prompts; a trailing `assistant` message is an earlier turn, and the
   * model answers with a new one. The first `next()` rejects with `InvalidRequestError`,
   * `EngineBusyError`, `EngineClosedError` or the signal's reason before any token.
   * Finishing the loop (or breaking out of it) returns the sequence to the pool.
   */
  chat(messages: ChatMessage[], options?: GenerationOptions): AsyncGenerator<EngineEvent, void>;
  /** Continue raw text (no chat template). */
  complete(prompt: string, options?: GenerationOptions): AsyncGenerator<EngineEvent, void>;
  /** Abort everything running or queued and free the context and the model. */
  close(): Promise<void>;
}
