/**
 * The inference engine: one model, one context with `maxConcurrency` sequences, a pool
 * that lends a sequence to each request, and a bounded FIFO queue in front of it.
 *
 * Request flow:
 * 1. validate messages/prompt and options, count the prompt's tokens, build the grammar
 *    (`InvalidRequestError` here, before the request takes any slot);
 * 2. borrow a sequence (`EngineBusyError` when every sequence and queue slot is taken);
 * 3. generate with the model's own chat template (`LlamaChat`) or as raw text
 *    (`LlamaCompletion`), streaming text deltas as `token` events;
 * 4. emit `end` with the finish reason and token usage;
 * 5. clear the sequence and hand it to the next request — also right after an abort.
 */
import { join } from 'node:path';
import { logger } from '@libp2p/logger';
import { ChatMLChatWrapper, LlamaChat, LlamaCompletion, resolveChatWrapper } from 'node-llama-cpp';
import type {
  ChatHistoryItem,
  ChatWrapper,
  GbnfJsonSchema,
  Llama,
  LlamaContext,
  LlamaContextSequence,
  LlamaGrammar,
  LlamaModel,
} from 'node-llama-cpp';
import { ModelLoadError } from '../models/errors.js';
import { diagnoseTruncation } from '../models/metadata.js';
import { readModelShape } from '../models/metadata.js';
import { DEFAULT_MODEL, modelsDir, readModelMetadata, resolveModel } from '../models/resolve.js';
import {
  DEFAULT_MAX_QUEUE,
  defaultThreads,
  memoryRefusalMessage,
  physicalCoreCount,
  planSizing,
  systemMemory,
} from './defaults.js';
import { EngineClosedError, InsufficientMemoryError, InvalidRequestError } from './errors.js';
import { EventStream } from './event-stream.js';
import { toGbnfJsonSchema } from './json-schema.js';
import { acquireLlama, llamaErrorsSince, llamaLogMark } from './llama-backend.js';
import { checkPrompt, planSampling, toChatHistory } from './options.js';
import type { SamplingPlan } from './options.js';
import { SequencePool } from './sequence-pool.js';
import type {
  ChatMessage,
  Engine,
  EngineBackend,
  EngineEvent,
  EngineInit,
  EngineLoad,
  EngineMemory,
  EngineModel,
  GenerationOptions,
  ResponseFormat,
} from './types.js';

const log = logger('tokenplace:node:engine');

/** Compiled JSON-schema grammars kept per engine. */
const SCHEMA_GRAMMAR_CACHE = 16;
/** Bounds of the `retryAfterMs` hint. */
const MIN_RETRY_AFTER_MS = 1_000;
const MAX_RETRY_AFTER_MS = 60_000;
/** Weight of the newest request in the average request time. */
const DURATION_EWMA_WEIGHT = 0.2;

interface Slot {
  sequence: LlamaContextSequence;
  chat: LlamaChat;
  completion: LlamaCompletion;
}

type Request =
  { kind: 'chat'; history: ChatHistoryItem[] } | { kind: 'completion'; prompt: string };

interface Running {
  controller: AbortController;
  settled: Promise<void>;
}

function positiveInt(value: number | undefined, name: string, min = 1): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`${name} must be an integer ≥ ${min}, got ${value}`);
  }
  return value;
}

/**
 * Create an engine: resolve the model (writing the demo model or downloading an `hf:`
 * model when needed), start the shared llama.cpp backend, size threads, concurrency and
 * context to the machine, check that the model fits in memory, load the weights once and
 * create one context with `maxConcurrency` sequences.
 *
 * Throws `ModelNotFoundError`, `OfflineModelError`, `InsufficientMemoryError` (before
 * loading anything), `ModelLoadError` (with llama.cpp's real reason), or `signal`'s reason.
 */
export async function createEngine(
  init: EngineInit,
  { signal }: { signal?: AbortSignal } = {},
): Promise<Engine> {
  if (typeof init?.dataDir !== 'string' || init.dataDir === '') {
    throw new RangeError('dataDir is required');
  }
  positiveInt(init.threads, 'threads');
  positiveInt(init.maxConcurrency, 'maxConcurrency');
  positiveInt(init.maxQueue, 'maxQueue', 0);
  positiveInt(init.contextSize, 'contextSize', 16);
  positiveInt(init.memoryLimitBytes, 'memoryLimitBytes');
  signal?.throwIfAborted();

  const onProgress = init.onProgress;
  const resolved = await resolveModel(init.model ?? DEFAULT_MODEL, {
    dataDir: init.dataDir,
    ...(signal ? { signal } : {}),
    ...(init.hfEndpoint ? { hfEndpoint: init.hfEndpoint } : {}),
    ...(onProgress
      ? {
          onDownloadProgress: ({ downloadedBytes, totalBytes }) =>
            onProgress({
              phase: 'download',
              fraction: totalBytes > 0 ? Math.min(1, downloadedBytes / totalBytes) : 0,
              downloadedBytes,
              totalBytes,
            }),
        }
      : {}),
  });
  const metadata = await readModelMetadata(resolved.path, {
    id: init.modelId ?? resolved.id,
    ...(resolved.sha256 ? { sha256: resolved.sha256 } : {}),
    hashCacheDir: join(modelsDir(init.dataDir), '.sha256'),
    ...(signal ? { signal } : {}),
  });

  const shape = await readModelShape(resolved.path, signal ? { signal } : {});

  const cores = await physicalCoreCount();
  const threads = init.threads ?? defaultThreads(resolved.builtIn, cores);
  const maxQueue = init.maxQueue ?? DEFAULT_MAX_QUEUE;
  const gpu = init.gpu ?? (resolved.builtIn ? false : 'auto');

  const llama = await acquireLlama(gpu, threads);
  signal?.throwIfAborted();

  // RAM holds the weights and the KV cache on the CPU, and with Metal (Apple's unified
  // memory). With CUDA or Vulkan, node-llama-cpp fits the layers into VRAM itself.
  const ramBound = llama.gpu === false || llama.gpu === 'metal';
  const system = systemMemory();
  const memoryLimit = init.memoryLimitBytes ?? system.totalBytes;
  const available = Math.min(system.availableBytes, memoryLimit);
  const plan = planSizing({
    builtIn: resolved.builtIn,
    physicalCores: cores,
    memoryBytes: memoryLimit,
    shape,
    fitToMemory: ramBound,
    threads,
    maxConcurrency: init.maxConcurrency,
    contextSize: init.contextSize,
  });
  const { maxConcurrency, contextSize } = plan;
  if (ramBound && !plan.fits) {
    throw new InsufficientMemoryError(
      memoryRefusalMessage(
        `model ${metadata.id} (${resolved.path})`,
        plan,
        { totalBytes: memoryLimit, availableBytes: available },
        { contextSize: init.contextSize != null, maxConcurrency: init.maxConcurrency != null },
      ),
      plan.memory.totalBytes,
      memoryLimit,
    );
  }
  const memory: EngineMemory = {
    estimatedBytes: plan.memory.totalBytes,
    limitBytes: memoryLimit,
    availableBytes: available,
    checked: ramBound,
  };
  if (ramBound && plan.memory.totalBytes > available) {
    log(
      'model needs about %d MiB but only %d MiB are available now: expect swapping',
      Math.round(plan.memory.totalBytes / 2 ** 20),
      Math.round(available / 2 ** 20),
    );
  }
  const started = performance.now();
  const mark = llamaLogMark();
  let model: LlamaModel;
  try {
    model = await llama.loadModel({
      modelPath: resolved.path,
      ...(gpu === false ? { gpuLayers: 0 } : {}),
      ...(signal ? { loadSignal: signal } : {}),
      ...(onProgress
        ? { onLoadProgress: (fraction: number) => onProgress({ phase: 'load', fraction }) }
        : {}),
    });
  } catch (err) {
    signal?.throwIfAborted();
    throw await explainLoadFailure(err, resolved.path, mark);
  }

  let context: LlamaContext;
  try {
    context = await model.createContext({
      contextSize,
      sequences: maxConcurrency,
      threads,
      ...(signal ? { createSignal: signal } : {}),
    });
  } catch (err) {
    await model.dispose();
    signal?.throwIfAborted();
    const reasons = await llamaErrorsSince(mark);
    throw new ModelLoadError(
      `cannot create a context of ${contextSize} tokens × ${maxConcurrency} sequences for ${resolved.path}: ` +
        `${[...reasons, (err as Error).message].join('; ')}. Try a smaller --context-size or --max-concurrency.`,
      resolved.path,
      { cause: err },
    );
  }
  const loadMs = Math.round(performance.now() - started);
  const gpuName =
    llama.gpu === false ? null : ((await llama.getGpuDeviceNames().catch(() => []))[0] ?? null);
  onProgress?.({ phase: 'load', fraction: 1 });

  const engine = new LlamaEngine({
    llama,
    model,
    context,
    info: { ...metadata, path: resolved.path, builtIn: resolved.builtIn, loadMs },
    threads,
    maxQueue,
    gpuName,
    memory,
  });
  log(
    'engine ready: model %s (%s, %s, %d params), %s backend, %d threads, %d × %d-token sequences, queue %d, loaded in %d ms',
    metadata.id,
    metadata.family,
    metadata.quantization,
    metadata.parameters,
    engine.backend,
    threads,
    engine.maxConcurrency,
    engine.contextSize,
    maxQueue,
    loadMs,
  );
  return engine;
}

/** node-llama-cpp says "Failed to load model"; llama.cpp's log says why. */
async function explainLoadFailure(err: unknown, path: string, mark: number): Promise<Error> {
  const error = err as Error;
  if (error.name === 'ModelLoadError') return error;
  const reasons = (await llamaErrorsSince(mark))
    .map((line) => line.replace(/^llama_model_load: error loading model: /, ''))
    .filter((line) => !/failed to load model$/i.test(line));
  const diagnosis = await diagnoseTruncation(path);
  const why = [...new Set([...reasons, ...(diagnosis ? [diagnosis] : [])])];
  if (why.length === 0) why.push(error.message);
  return new ModelLoadError(`cannot load model ${path}: ${why.join('; ')}`, path, { cause: err });
}

interface EngineParts {
  llama: Llama;
  model: LlamaModel;
  context: LlamaContext;
  info: EngineModel;
  threads: number;
  maxQueue: number;
  gpuName: string | null;
  memory: EngineMemory;
}

class LlamaEngine implements Engine {
  readonly model: EngineModel;
  readonly backend: EngineBackend;
  readonly gpuName: string | null;
  readonly maxConcurrency: number;
  readonly contextSize: number;
  readonly threads: number;
  readonly memory: EngineMemory;

  private readonly llama: Llama;
  private readonly llamaModel: LlamaModel;
  private readonly context: LlamaContext;
  private readonly chatWrapper: ChatWrapper;
  private readonly slots: Slot[];
  private readonly pool: SequencePool<Slot>;
  private readonly running = new Set<Running>();
  private readonly schemaGrammars = new Map<string, Promise<LlamaGrammar>>();
  private jsonGrammar: Promise<LlamaGrammar> | undefined;
  private averageRequestMs = MIN_RETRY_AFTER_MS;
  private closing: Promise<void> | undefined;

  constructor(parts: EngineParts) {
    this.llama = parts.llama;
    this.llamaModel = parts.model;
    this.context = parts.context;
    this.model = Object.freeze({ ...parts.info });
    this.backend = parts.llama.gpu === false ? 'cpu' : parts.llama.gpu;
    this.gpuName = parts.gpuName;
    this.threads = parts.threads;
    this.memory = Object.freeze({ ...parts.memory });
    this.contextSize = parts.context.contextSize;
    this.maxConcurrency = parts.context.totalSequences;
    // The model's own template (from its GGUF metadata), resolved once. node-llama-cpp
    // spends ~0.6 s checking a Jinja template against its specialized wrappers; the demo
    // models' template is exactly ChatML (what that check finds, see the demo-gguf test),
    // so they skip it.
    this.chatWrapper = parts.info.builtIn
      ? new ChatMLChatWrapper()
      : resolveChatWrapper(parts.model);
    this.slots = Array.from({ length: this.maxConcurrency }, () => {
      const sequence = parts.context.getSequence();
      return {
        sequence,
        chat: new LlamaChat({ contextSequence: sequence, chatWrapper: this.chatWrapper }),
        completion: new LlamaCompletion({ contextSequence: sequence }),
      };
    });
    this.pool = new SequencePool(this.slots, {
      maxQueue: parts.maxQueue,
      reset: (slot) => slot.sequence.clearHistory(),
      retryAfterMs: (queued) =>
        Math.round(
          Math.min(
            MAX_RETRY_AFTER_MS,
            Math.max(
              MIN_RETRY_AFTER_MS,
              (this.averageRequestMs * (queued + 1)) / this.maxConcurrency,
            ),
          ),
        ),
    });
    log('chat template: %s', this.chatWrapper.wrapperName);
  }

  load(): EngineLoad {
    return {
      active: this.pool.active,
      queued: this.pool.queued,
      maxConcurrency: this.maxConcurrency,
    };
  }

  chat(
    messages: ChatMessage[],
    options: GenerationOptions = {},
  ): AsyncGenerator<EngineEvent, void> {
    return this.generate(() => ({ kind: 'chat', history: toChatHistory(messages) }), options);
  }

  complete(prompt: string, options: GenerationOptions = {}): AsyncGenerator<EngineEvent, void> {
    return this.generate(() => ({ kind: 'completion', prompt: checkPrompt(prompt) }), options);
  }

  /** Tokens the prompt will take, for the length check and the default `maxTokens`. */
  private countPromptTokens(request: Request): number {
    if (request.kind === 'completion') return this.llamaModel.tokenize(request.prompt).length;
    const { contextText } = this.chatWrapper.generateContextState({ chatHistory: request.history });
    return contextText.tokenize(this.llamaModel.tokenizer).length;
  }

  private grammarFor(format: ResponseFormat): Promise<LlamaGrammar> | undefined {
    if (format.type === 'text') return undefined;
    if (format.type === 'json_object') {
      this.jsonGrammar ??= this.llama.getGrammarFor('json');
      return this.jsonGrammar;
    }
    const schema = toGbnfJsonSchema(format.schema);
    const key = JSON.stringify(schema);
    let grammar = this.schemaGrammars.get(key);
    if (!grammar) {
      // The schema is only known at run time, so node-llama-cpp's type-level schema
      // inference has nothing to infer; call it through a plain signature.
      const create = this.llama.createGrammarForJsonSchema.bind(this.llama) as (
        schema: GbnfJsonSchema,
      ) => Promise<LlamaGrammar>;
      grammar = create(schema).catch((err: unknown) => {
        this.schemaGrammars.delete(key);
        throw new InvalidRequestError(
          `the JSON schema cannot be turned into a grammar: ${(err as Error).message}`,
          'responseFormat',
        );
      });
      this.schemaGrammars.set(key, grammar);
      if (this.schemaGrammars.size > SCHEMA_GRAMMAR_CACHE) {
        const [oldest] = this.schemaGrammars.keys();
        if (oldest !== undefined) this.schemaGrammars.delete(oldest);
      }
    }
    return grammar;
  }

  private async *generate(
    buildRequest: () => Request,
    options: GenerationOptions,
  ): AsyncGenerator<EngineEvent, void> {
    if (this.closing) throw new EngineClosedError();
    // 1. Validate everything before taking a slot.
    const request = buildRequest();
    const plan = planSampling(options ?? {}, this.contextSize);
    const promptTokens = this.countPromptTokens(request);
    if (promptTokens >= this.contextSize) {
      throw new InvalidRequestError(
        `the prompt takes ${promptTokens} tokens but a request's context holds ${this.contextSize}`,
        request.kind === 'chat' ? 'messages' : 'prompt',
      );
    }
    const grammar = await this.grammarFor(plan.responseFormat);
    const { signal } = options ?? {};

    // 2. Borrow a sequence (or wait for one, or be refused).
    const slot = await this.pool.acquire(signal);
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();
    const stream = new EventStream<EngineEvent>(controller.signal);
    const started = performance.now();

    // 3. Generate in the background; the stream carries its events to the consumer.
    const meter = slot.sequence.tokenMeter.getState();
    const maxTokens = plan.maxTokens ?? Math.max(1, this.contextSize - promptTokens);
    let firstTokenAt: number | null = null;
    let lastTokenAt: number | null = null;
    const generation = this.run(
      slot,
      request,
      plan,
      maxTokens,
      grammar,
      controller.signal,
      (text) => {
        lastTokenAt = performance.now();
        firstTokenAt ??= lastTokenAt;
        stream.push({ type: 'token', text });
      },
    ).then((stopReason) => {
      // The meter counts every token decoded on this (freshly cleared) sequence: prompt
      // tokens as "input" except the last, whose logits give the first sampled token, so
      // prompt = input + 1; every sampled token ("output") is one completion token.
      // Near the limit node-llama-cpp may sample a token or two past `maxTokens` to settle a
      // partial stop-text or UTF-8 match, then drop them; they are not part of the answer,
      // and usage never exceeds the caller's limit.
      const used = slot.sequence.tokenMeter.diff(meter);
      const finishReason = stopReason === 'maxTokens' ? 'length' : 'stop';
      stream.push({
        type: 'end',
        finishReason,
        usage: {
          promptTokens: used.usedInputTokens + (used.usedOutputTokens > 0 ? 1 : 0),
          completionTokens:
            finishReason === 'length'
              ? Math.min(used.usedOutputTokens, maxTokens)
              : used.usedOutputTokens,
        },
        timing: {
          firstTokenMs: firstTokenAt == null ? null : firstTokenAt - started,
          lastTokenMs: lastTokenAt == null ? null : lastTokenAt - started,
        },
      });
      stream.end();
    });
    const running: Running = {
      controller,
      settled: generation
        .catch((err: unknown) => stream.fail(err))
        .finally(() => {
          signal?.removeEventListener('abort', onAbort);
          this.running.delete(running);
          const ms = performance.now() - started;
          this.averageRequestMs += (ms - this.averageRequestMs) * DURATION_EWMA_WEIGHT;
          log.trace('request done in %d ms', Math.round(ms));
          // 5. Clear the sequence and hand it on, as soon as llama.cpp has stopped.
          return this.pool.release(slot);
        }),
    };
    this.running.add(running);

    let completed = false;
    try {
      yield* stream;
      completed = true;
    } finally {
      if (completed) {
        // Generation is over; wait the millisecond it takes to clear the sequence, so that
        // when the consumer's loop ends the sequence is already back in the pool.
        await running.settled;
      } else if (!controller.signal.aborted) {
        // The consumer stopped early (break, throw): stop the generation. Either way the
        // sequence is released in the background as soon as the current llama.cpp step
        // returns, without making an aborted consumer wait for it.
        controller.abort(new Error('generation no longer consumed'));
      }
    }
  }

  private async run(
    slot: Slot,
    request: Request,
    plan: SamplingPlan,
    maxTokens: number,
    grammar: LlamaGrammar | undefined,
    signal: AbortSignal,
    onText: (text: string) => void,
  ): Promise<string> {
    const common = {
      signal,
      stopOnAbortSignal: false,
      // Default: the room left after the prompt, so an answer ends with `length` when the
      // window is full instead of shifting the context forever.
      maxTokens,
      temperature: plan.temperature,
      ...(plan.topP !== undefined ? { topP: plan.topP } : {}),
      ...(plan.seed !== undefined ? { seed: plan.seed } : {}),
      ...(plan.stop.length > 0 ? { customStopTriggers: plan.stop } : {}),
      repeatPenalty: plan.repeatPenalty,
      ...(grammar ? { grammar } : {}),
      onTextChunk: (text: string) => {
        if (text !== '') onText(text);
      },
    };
    if (request.kind === 'chat') {
      const response = await slot.chat.generateResponse(request.history, common);
      return response.metadata.stopReason;
    }
    const response = await slot.completion.generateCompletionWithMeta(request.prompt, common);
    return response.metadata.stopReason;
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.pool.close();
    const running = [...this.running];
    for (const r of running) r.controller.abort(new EngineClosedError());
    await Promise.allSettled(running.map((r) => r.settled));
    for (const slot of this.slots) {
      slot.chat.dispose({ disposeSequence: false });
      slot.completion.dispose({ disposeSequence: false });
    }
    // Sequences die with their context, the context with the model (objects lifecycle).
    await this.context.dispose();
    await this.llamaModel.dispose();
    log('engine for %s closed', this.model.id);
  }
}
