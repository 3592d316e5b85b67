/**
 * Builders for OpenAI response objects: chat completions, legacy completions, and
 * their streamed chunks. One `ResponseBuilder` per request keeps id, created and model
 * identical across its chunks, as OpenAI does.
 */
import { randomBytes, toHex, type ResponseEvent } from '../../protocol/index.js';

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

const CHAT_CHOICE_KEYS = new Set(['index', 'delta', 'logprobs', 'finish_reason']);
const COMPLETION_CHOICE_KEYS = new Set(['index', 'text', 'logprobs', 'finish_reason']);

/**
 * The text of a plain streamed delta: one choice, index 0, text only (chat: `content`, and
 * `role` unless `continuation`), no finish reason, no logprobs, no usage. Undefined for
 * any other chunk (the first of a tool call, the finish and usage chunks, anything a
 * remote node sent that is not this shape), which is then passed on as it is.
 */
function deltaText(data: Record<string, unknown>, continuation: boolean): string | undefined {
  const choices = data.choices;
  if (!Array.isArray(choices) || choices.length !== 1 || data.usage != null) return undefined;
  const choice = choices[0] as Record<string, unknown> | null;
  if (typeof choice !== 'object' || choice === null || choice.index !== 0) return undefined;
  if (choice.finish_reason != null || choice.logprobs != null) return undefined;
  if (data.object === 'chat.completion.chunk') {
    const delta = choice.delta as Record<string, unknown> | null;
    if (typeof delta !== 'object' || delta === null || typeof delta.content !== 'string') {
      return undefined;
    }
    for (const key in choice) if (!CHAT_CHOICE_KEYS.has(key)) return undefined;
    for (const key in delta) {
      if (key !== 'content' && (key !== 'role' || continuation)) return undefined;
    }
    return delta.content;
  }
  if (data.object === 'text_completion' && typeof choice.text === 'string') {
    for (const key in choice) if (!COMPLETION_CHOICE_KEYS.has(key)) return undefined;
    return choice.text;
  }
  return undefined;
}

/**
 * Joins runs of plain text deltas of one answer (same id) into one chunk each: a batch of
 * events ready together (see `coalesce`) goes out as one chunk, as a client reading a
 * fast model would have rendered it anyway. Concatenating the deltas gives the same text;
 * every other event keeps its place. A fast model's answer then costs a few dozen chunks
 * to serialize, seal and parse instead of one per token.
 */
export function mergeDeltas(events: readonly ResponseEvent[]): ResponseEvent[] {
  const out: ResponseEvent[] = [];
  let head: { event: Extract<ResponseEvent, { type: 'chunk' }>; texts: string[] } | undefined;
  const flush = (): void => {
    if (head == null) return;
    const { event, texts } = head;
    head = undefined;
    if (texts.length === 1) {
      out.push(event);
      return;
    }
    const text = texts.join('');
    const choice = (event.data.choices as Array<Record<string, unknown>>)[0]!;
    const merged =
      event.data.object === 'chat.completion.chunk'
        ? { ...choice, delta: { ...(choice.delta as Record<string, unknown>), content: text } }
        : { ...choice, text };
    out.push({ type: 'chunk', data: { ...event.data, choices: [merged] } });
  };
  for (const event of events) {
    if (event.type === 'chunk') {
      if (head != null && event.data.id === head.event.data.id) {
        const text = deltaText(event.data, true);
        if (text !== undefined) {
          head.texts.push(text);
          continue;
        }
      }
      flush();
      const text = deltaText(event.data, false);
      if (text !== undefined) {
        head = { event, texts: [text] };
        continue;
      }
    } else {
      flush();
    }
    out.push(event);
  }
  flush();
  return out;
}
