/**
 * The inference service: turns one OpenAI request into a stream of `ResponseEvent`s,
 * in batches of events ready together.
 *
 * Every way into a node ends here — the plain OpenAI HTTP API, its encrypted mode, and
 * the libp2p inference protocol — so they share validation, parameter mapping, queueing
 * and cancellation. A model this node serves runs on the local engine; any other model
 * goes to the mesh (when the node is a mesh member), which yields the same events.
 *
 * Event order: a streamed answer is `chunk`… `done`; a non-streamed one is one
 * `result`; an `error` ends either (for a stream, possibly after some chunks).
 *
 * Batches: the batching is decided once, where the events are made. The local engine's
 * first token comes alone, at once; the tokens of each later `STREAM_WINDOW_MS` make one
 * text delta (one chunk). A remote answer comes in the
 * batches its node sealed. Every consumer writes one batch at once (one SSE write, one
 * sealed chunk) and batches nothing again.
 */
import { logger } from '@libp2p/logger';
import type { InferenceEndpoint, ModelCard, ResponseEvent } from '../protocol/index.js';
import { EngineBusyError, InvalidRequestError } from './engine/index.js';
import type { Engine, EngineEvent } from './engine/index.js';
import {
  busy,
  invalidRequest,
  modelNotFound,
  OpenAIError,
  toOpenAIError,
} from './openai/errors.js';
import { parseChatRequest, parseCompletionRequest, type ParsedRequest } from './openai/schema.js';
import { ResponseBuilder, usageOf } from './openai/responses.js';
import { coalesce, STREAM_WINDOW_MS } from './coalesce.js';

const log = logger('tokenplace:node:service');

/** Models served elsewhere in the mesh (implemented by the node's mesh membership). */
export interface RemoteModels {
  list(): RemoteModel[];
  /**
   * Optional: brings the list up to date when it is older than `maxAgeMs`, waiting at
   * most `waitMs`; never throws.
   */
  fresh?(maxAgeMs: number, waitMs: number): Promise<void>;
  /** Runs the request on a remote provider of `model`, yielding the same events, batched. */
  run(
    endpoint: InferenceEndpoint,
    body: Record<string, unknown>,
    model: string,
    options: { signal: AbortSignal },
  ): AsyncGenerator<ResponseEvent[]>;
}

export interface RemoteModel {
  id: string;
  /** Nodes that serve it (verified cards). */
  providers: number;
  card?: ModelCard['model'];
}

/** A model as `GET /v1/models` lists it. */
export interface ModelEntry {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
  /** token.place extension: where the model is served and by how many peers. */
  tokenplace: {
    served_by: 'this-node' | 'mesh';
    providers: number;
    family?: string;
    parameters?: number;
    quantization?: string;
    context_length?: number;
    built_in?: boolean;
  };
}

/**
 * `GET /v1/models` asks the mesh's directories again when its list is older than this (a
 * node that just joined shows at once, not at the next rediscovery, every 15 s)…
 */
export const MODELS_FRESH_MS = 2_000;
/** …and waits for them this long at most, else answers from the list it has. */
export const MODELS_WAIT_MS = 1_000;

export interface InferenceServiceInit {
  /** The local engine; absent on a model-less node. */
  engine?: Engine;
  remote?: RemoteModels;
}

export class InferenceService {
  readonly #engine: Engine | undefined;
  #remote: RemoteModels | undefined;
  readonly #created = Math.floor(Date.now() / 1000);

  constructor(init: InferenceServiceInit) {
    this.#engine = init.engine;
    this.#remote = init.remote;
  }

  /** Attaches the mesh once it is up (the HTTP API starts serving before it). */
  setRemote(remote: RemoteModels | undefined): void {
    this.#remote = remote;
  }

  get engine(): Engine | undefined {
    return this.#engine;
  }

  /** Brings the mesh's models up to date for a listing ({@link MODELS_FRESH_MS}). */
  async freshModels(): Promise<void> {
    await this.#remote?.fresh?.(MODELS_FRESH_MS, MODELS_WAIT_MS);
  }

  listModels(): ModelEntry[] {
    const out: ModelEntry[] = [];
    const local = this.#engine?.model;
    const remote = this.#remote?.list() ?? [];
    if (local != null) {
      const elsewhere = remote.find((m) => m.id === local.id)?.providers ?? 0;
      out.push({
        id: local.id,
        object: 'model',
        created: this.#created,
        owned_by: 'token.place',
        tokenplace: {
          served_by: 'this-node',
          providers: 1 + elsewhere,
          family: local.family,
          parameters: local.parameters,
          quantization: local.quantization,
          context_length: local.contextLength,
          built_in: local.builtIn,
        },
      });
    }
    for (const m of remote) {
      if (m.id === local?.id) continue;
      out.push({
        id: m.id,
        object: 'model',
        created: this.#created,
        owned_by: 'token.place',
        tokenplace: {
          served_by: 'mesh',
          providers: m.providers,
          ...(m.card != null
            ? {
                family: m.card.family,
                parameters: m.card.parameters,
                quantization: m.card.quantization,
                context_length: m.card.contextLength,
              }
            : {}),
        },
      });
    }
    return out;
  }

  getModel(id: string): ModelEntry | undefined {
    return this.listModels().find((m) => m.id === id);
  }

  /**
   * Runs one request, yielding its events in batches (never empty; see the file's docs).
   * Never throws: failures are `error` events.
   */
  async *run(
    endpoint: InferenceEndpoint,
    body: unknown,
    options: { signal: AbortSignal },
  ): AsyncGenerator<ResponseEvent[]> {
    let request: ParsedRequest;
    try {
      if (body == null || typeof body !== 'object' || Array.isArray(body)) {
        throw invalidRequest('The request body must be a JSON object.');
      }
      request =
        endpoint === 'chat.completions' ? parseChatRequest(body) : parseCompletionRequest(body);
    } catch (err) {
      yield [errorEvent(err)];
      return;
    }
    if (this.#engine != null && request.model === this.#engine.model.id) {
      yield* this.#runLocal(this.#engine, request, options.signal);
      return;
    }
    // The mesh answers 404 itself when, after a fresh look, nobody serves the model.
    if (this.#remote != null) {
      yield* this.#remote.run(endpoint, body as Record<string, unknown>, request.model, options);
      return;
    }
    yield [errorEvent(modelNotFound(request.model))];
  }

  /**
   * Runs a request on the local engine, in batches: the first token alone and at once,
   * then the tokens of each `STREAM_WINDOW_MS` as one text delta (one chunk), and the
   * end of the answer at once.
   */
  async *#runLocal(
    engine: Engine,
    request: ParsedRequest,
    signal: AbortSignal,
  ): AsyncGenerator<ResponseEvent[]> {
    const builder = new ResponseBuilder(request.kind, request.model, request.includeUsage);
    const generation: AsyncGenerator<EngineEvent> =
      request.kind === 'chat'
        ? engine.chat(request.messages!, { ...request.options, signal })
        : engine.complete(request.prompt!, { ...request.options, signal });
    const started = performance.now();
    let text = request.echo === true ? request.prompt! : '';
    let sentAny = false;
    try {
      if (request.stream && request.echo === true && text !== '') {
        yield [{ type: 'chunk', data: builder.delta(text, true) }];
        sentAny = true;
      }
      for await (const batch of coalesce(generation, STREAM_WINDOW_MS, (e) => e.type === 'end')) {
        let piece = '';
        let end: Extract<EngineEvent, { type: 'end' }> | undefined;
        for (const event of batch) {
          if (event.type === 'token') piece += event.text;
          else end = event;
        }
        const out: ResponseEvent[] = [];
        if (!request.stream) {
          text += piece;
        } else if (piece !== '') {
          out.push({ type: 'chunk', data: builder.delta(piece, !sentAny) });
          sentAny = true;
        }
        if (end == null) {
          if (out.length > 0) yield out;
          continue;
        }
        const usage = usageOf(end.usage);
        // Counts and timings only (never text): the benchmarks read the generation's own
        // pace from this line (`first`/`last` token, ms since the engine started it).
        log(
          '%s done: %d prompt + %d completion tokens in %d ms (tokens %s-%s ms)',
          builder.id,
          usage.prompt_tokens,
          usage.completion_tokens,
          Math.round(performance.now() - started),
          end.timing.firstTokenMs?.toFixed(1) ?? '-',
          end.timing.lastTokenMs?.toFixed(1) ?? '-',
        );
        if (!request.stream) {
          yield [
            { type: 'result', status: 200, data: builder.result(text, end.finishReason, usage) },
          ];
          return;
        }
        if (!sentAny) out.push({ type: 'chunk', data: builder.delta('', true) });
        out.push({ type: 'chunk', data: builder.finish(end.finishReason) });
        if (request.includeUsage) out.push({ type: 'chunk', data: builder.usage(usage) });
        out.push({ type: 'done' });
        yield out;
        return;
      }
      // The engine ends every generation with an `end` event unless it was aborted.
      if (!signal.aborted) yield [errorEvent(new Error('generation ended without an end event'))];
    } catch (err) {
      if (signal.aborted) return;
      yield [errorEvent(err)];
    } finally {
      await generation.return(undefined);
    }
  }
}

/** Any failure as a final `error` event (OpenAI-shaped, nothing internal exposed). */
export function errorEvent(err: unknown): ResponseEvent {
  let e: OpenAIError;
  if (err instanceof EngineBusyError) e = busy(err.retryAfterMs);
  else if (err instanceof InvalidRequestError) e = invalidRequest(err.message, err.param ?? null);
  else {
    if (!(err instanceof OpenAIError))
      log.error('request failed: %s', (err as Error)?.name ?? typeof err);
    e = toOpenAIError(err);
  }
  const event: ResponseEvent = { type: 'error', status: e.status, error: e.toBody() };
  if (e.retryAfterMs != null) event.retryAfterMs = Math.round(e.retryAfterMs);
  return event;
}
