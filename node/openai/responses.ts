/**
 * Builders for OpenAI response objects: chat completions, legacy completions, and
 * their streamed chunks. One `ResponseBuilder` per request keeps id, created and model
 * identical across its chunks, as OpenAI does.
 */
import { randomBytes, toHex } from '../../protocol/index.js';

export type FinishReason = 'stop' | 'length';

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export function usageOf(u: { promptTokens: number; completionTokens: number }): Usage {
  return {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.promptTokens + u.completionTokens,
  };
}

/**
 * Builds OpenAI response objects. Streamed chunks are built for every token, so they are
 * plain object literals (no spreads): V8 keeps them in fast mode, and JSON.stringify of
 * the next chunk is quick.
 */
export class ResponseBuilder {
  readonly id: string;
  readonly created = Math.floor(Date.now() / 1000);
  readonly kind: 'chat' | 'completion';
  readonly model: string;
  readonly includeUsage: boolean;
  readonly #chunkObject: 'chat.completion.chunk' | 'text_completion';

  constructor(kind: 'chat' | 'completion', model: string, includeUsage = false) {
    this.kind = kind;
    this.model = model;
    this.includeUsage = includeUsage;
    this.id = `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${toHex(randomBytes(12))}`;
    this.#chunkObject = kind === 'chat' ? 'chat.completion.chunk' : 'text_completion';
  }

  /** The whole answer, for `stream: false`. */
  result(text: string, finishReason: FinishReason, usage: Usage): Record<string, unknown> {
    const choice =
      this.kind === 'chat'
        ? {
            index: 0,
            message: { role: 'assistant', content: text, refusal: null },
            logprobs: null,
            finish_reason: finishReason,
          }
        : { index: 0, text, logprobs: null, finish_reason: finishReason };
    return {
      id: this.id,
      object: this.kind === 'chat' ? 'chat.completion' : 'text_completion',
      created: this.created,
      model: this.model,
      system_fingerprint: null,
      choices: [choice],
      usage,
    };
  }

  /** A streamed chunk carrying `text` (and, for chat, the role on the first chunk). */
  delta(text: string, first = false): Record<string, unknown> {
    const choice =
      this.kind === 'chat'
        ? {
            index: 0,
            delta: first ? { role: 'assistant', content: text } : { content: text },
            logprobs: null,
            finish_reason: null,
          }
        : { index: 0, text, logprobs: null, finish_reason: null };
    return this.#chunk([choice], null);
  }

  /** The chunk that carries `finish_reason`. */
  finish(finishReason: FinishReason): Record<string, unknown> {
    const choice =
      this.kind === 'chat'
        ? { index: 0, delta: {}, logprobs: null, finish_reason: finishReason }
        : { index: 0, text: '', logprobs: null, finish_reason: finishReason };
    return this.#chunk([choice], null);
  }

  /** The final usage-only chunk of `stream_options.include_usage`. */
  usage(usage: Usage): Record<string, unknown> {
    return this.#chunk([], usage);
  }

  /** A streamed chunk; `usage` appears (null until the last chunk) only when asked for. */
  #chunk(choices: unknown[], usage: Usage | null): Record<string, unknown> {
    const chunk: Record<string, unknown> = {
      id: this.id,
      object: this.#chunkObject,
      created: this.created,
      model: this.model,
      system_fingerprint: null,
      choices,
    };
    if (this.includeUsage || usage != null) chunk.usage = usage;
    return chunk;
  }
}
