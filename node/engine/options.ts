/**
 * Validation of chat messages and generation options, and their mapping onto
 * node-llama-cpp's parameters. Every check throws `InvalidRequestError` naming the
 * parameter, before the request takes a sequence or a queue slot.
 *
 * The mapping is deliberately literal: OpenAI's defaults (temperature 1, top-p 1, no
 * penalties), and node-llama-cpp's own repeat penalty (on by default at 1.1) switched off
 * unless the caller asks for presence or frequency penalties.
 */
import type { ChatHistoryItem, LLamaContextualRepeatPenalty } from 'node-llama-cpp';
import { InvalidRequestError } from './errors.js';
import type { ChatMessage, GenerationOptions, ResponseFormat } from './types.js';

/** OpenAI's default sampling temperature. */
export const DEFAULT_TEMPERATURE = 1;
/** Most stop sequences a request may carry. */
export const MAX_STOP_SEQUENCES = 16;
/** Longest stop sequence, in characters. */
export const MAX_STOP_LENGTH = 256;

const ROLES = new Set(['system', 'developer', 'user', 'assistant']);

/** Validated options, in node-llama-cpp's terms. */
export interface SamplingPlan {
  maxTokens: number | undefined;
  temperature: number;
  topP: number | undefined;
  seed: number | undefined;
  stop: string[];
  repeatPenalty: false | LLamaContextualRepeatPenalty;
  responseFormat: ResponseFormat;
}

function finiteIn(value: unknown, param: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new InvalidRequestError(`${param} must be a number from ${min} to ${max}`, param);
  }
  return value;
}

/** Validate `options` (but not `signal`) and map them; `penaltyWindow` is the context size. */
export function planSampling(options: GenerationOptions, penaltyWindow: number): SamplingPlan {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidRequestError('options must be an object', 'options');
  }
  const { maxTokens, seed, stop, responseFormat } = options;
  if (maxTokens !== undefined && (!Number.isSafeInteger(maxTokens) || maxTokens < 1)) {
    throw new InvalidRequestError('maxTokens must be a positive integer', 'maxTokens');
  }
  const temperature = finiteIn(options.temperature, 'temperature', 0, 2) ?? DEFAULT_TEMPERATURE;
  const topP = finiteIn(options.topP, 'topP', 0, 1);
  if (seed !== undefined && !Number.isSafeInteger(seed)) {
    throw new InvalidRequestError('seed must be an integer', 'seed');
  }
  const presencePenalty = finiteIn(options.presencePenalty, 'presencePenalty', -2, 2) ?? 0;
  const frequencyPenalty = finiteIn(options.frequencyPenalty, 'frequencyPenalty', -2, 2) ?? 0;

  const stops = stop ?? [];
  if (!Array.isArray(stops) || stops.length > MAX_STOP_SEQUENCES) {
    throw new InvalidRequestError(
      `stop must be a list of at most ${MAX_STOP_SEQUENCES} strings`,
      'stop',
    );
  }
  for (const s of stops) {
    if (typeof s !== 'string' || s.length === 0 || s.length > MAX_STOP_LENGTH) {
      throw new InvalidRequestError(
        `each stop sequence must be a non-empty string of at most ${MAX_STOP_LENGTH} characters`,
        'stop',
      );
    }
  }

  const format: ResponseFormat = responseFormat ?? { type: 'text' };
  if (
    typeof format !== 'object' ||
    format === null ||
    !['text', 'json_object', 'json_schema'].includes(format.type)
  ) {
    throw new InvalidRequestError(
      'responseFormat.type must be text, json_object or json_schema',
      'responseFormat',
    );
  }
  if (
    format.type === 'json_schema' &&
    (typeof format.schema !== 'object' || format.schema === null || Array.isArray(format.schema))
  ) {
    throw new InvalidRequestError(
      'responseFormat.schema must be a JSON schema object',
      'responseFormat',
    );
  }

  return {
    maxTokens,
    temperature,
    topP: topP !== undefined && topP < 1 ? topP : undefined,
    // llama.cpp seeds are uint32: fold any integer (OpenAI allows negative and 64-bit seeds).
    seed: seed === undefined ? undefined : Number(BigInt.asUintN(32, BigInt(seed))),
    stop: [...stops],
    repeatPenalty:
      presencePenalty === 0 && frequencyPenalty === 0
        ? false
        : {
            // OpenAI's penalties are additive and cover everything generated so far.
            penalty: 1,
            presencePenalty,
            frequencyPenalty,
            lastTokens: penaltyWindow,
            penalizeNewLine: true,
          },
    responseFormat: format,
  };
}

/**
 * Chat messages as node-llama-cpp chat history, ending with the empty model turn to
 * generate. `system` and `developer` messages become system items; nothing is added.
 */
export function toChatHistory(messages: ChatMessage[]): ChatHistoryItem[] {
  if (!Array.isArray(messages) || messages.length === 0) {
    throw new InvalidRequestError('messages must be a non-empty list', 'messages');
  }
  const history: ChatHistoryItem[] = messages.map((message, i) => {
    if (
      typeof message !== 'object' ||
      message === null ||
      !ROLES.has(message.role) ||
      typeof message.content !== 'string'
    ) {
      throw new InvalidRequestError(
        `messages[${i}] must be { role: system | developer | user | assistant, content: string }`,
        'messages',
      );
    }
    switch (message.role) {
      case 'system':
      case 'developer':
        return { type: 'system', text: message.content };
      case 'user':
        return { type: 'user', text: message.content };
      case 'assistant':
        return { type: 'model', response: [message.content] };
    }
  });
  history.push({ type: 'model', response: [] });
  return history;
}

/** Validate a completion prompt. */
export function checkPrompt(prompt: string): string {
  if (typeof prompt !== 'string' || prompt.length === 0) {
    throw new InvalidRequestError('prompt must be a non-empty string', 'prompt');
  }
  return prompt;
}
