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

export class ResponseBuilder {
  readonly id: string;
  readonly created = Math.floor(Date.now() / 1000);
  readonly kind: 'chat' | 'completion';
  readonly model: string;
  readonly includeUsage: boolean;

  constructor(kind: 'chat' | 'completion', model: string, includeUsage = false) {
    this.kind = kind;
    this.model = model;
    this.includeUsage = includeUsage;
    this.id = `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${toHex(randomBytes(12))}`;
  }

  #base(object: string): Record<string, unknown> {
    return {
      id: this.id,
      object,
      created: this.created,
      model: this.model,
      system_fingerprint: null,
    };
  }

  /** The whole answer, for `stream: false`. */
  result(text: string, finishReason: FinishReason, usage: Usage): Record<string, unknown> {
    if (this.kind === 'chat') {
      return {
        ...this.#base('chat.completion'),
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: text, refusal: null },
            logprobs: null,
            finish_reason: finishReason,
          },
        ],
        usage,
      };
    }
    return {
      ...this.#base('text_completion'),
      choices: [{ index: 0, text, logprobs: null, finish_reason: finishReason }],
      usage,
    };
  }

  /** A streamed chunk carrying `text` (and, for chat, the role on the first chunk). */
  delta(text: string, first = false): Record<string, unknown> {
    const extra = this.includeUsage ? { usage: null } : {};
    if (this.kind === 'chat') {
      const delta = first ? { role: 'assistant', content: text } : { content: text };
      return {
        ...this.#base('chat.completion.chunk'),
        choices: [{ index: 0, delta, logprobs: null, finish_reason: null }],
        ...extra,
      };
    }
    return {
      ...this.#base('text_completion'),
      choices: [{ index: 0, text, logprobs: null, finish_reason: null }],
      ...extra,
    };
  }

  /** The chunk that carries `finish_reason`. */
  finish(finishReason: FinishReason): Record<string, unknown> {
    const extra = this.includeUsage ? { usage: null } : {};
    if (this.kind === 'chat') {
      return {
        ...this.#base('chat.completion.chunk'),
        choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: finishReason }],
        ...extra,
      };
    }
    return {
      ...this.#base('text_completion'),
      choices: [{ index: 0, text: '', logprobs: null, finish_reason: finishReason }],
      ...extra,
    };
  }

  /** The final usage-only chunk of `stream_options.include_usage`. */
  usage(usage: Usage): Record<string, unknown> {
    return {
      ...this.#base(this.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion'),
      choices: [],
      usage,
    };
  }
}
