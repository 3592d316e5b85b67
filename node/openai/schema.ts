/**
 * Validation of OpenAI request bodies, and their honest mapping to engine options.
 *
 * Every parameter is either supported, or refused with a 400 that says so — never
 * silently ignored. Unknown parameters are refused like OpenAI does
 * ("Unrecognized request argument supplied: …").
 */
import { z } from 'zod';
import { ModelId } from '../../protocol/index.js';
import type { ChatMessage, GenerationOptions, ResponseFormat } from '../engine/index.js';
import type { OpenAIError } from './errors.js';
import { invalidRequest, unsupported } from './errors.js';

const nullable = <T extends z.ZodType>(schema: T) => schema.nullable().optional();

const TextPart = z.strictObject({ type: z.literal('text'), text: z.string() });
const MessageContent = z.union([z.string(), z.array(TextPart).min(1)]);

const Message = z.strictObject({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool', 'function']),
  content: MessageContent.nullable().optional(),
  name: z.string().max(64).optional(),
  refusal: z.string().nullable().optional(),
  tool_calls: z.array(z.unknown()).optional(),
  tool_call_id: z.string().optional(),
});

const JsonSchemaFormat = z.strictObject({
  type: z.literal('json_schema'),
  json_schema: z.strictObject({
    name: z.string().min(1).max(64),
    description: z.string().optional(),
    schema: z.record(z.string(), z.unknown()).optional(),
    strict: z.boolean().nullable().optional(),
  }),
});

const ResponseFormatSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('text') }),
  z.strictObject({ type: z.literal('json_object') }),
  JsonSchemaFormat,
]);

const Stop = nullable(z.union([z.string(), z.array(z.string()).max(4)]));

const Sampling = {
  model: ModelId,
  stream: nullable(z.boolean()),
  stream_options: nullable(z.strictObject({ include_usage: z.boolean().optional() })),
  temperature: nullable(z.number().min(0).max(2)),
  top_p: nullable(z.number().min(0).max(1)),
  n: nullable(z.number().int().min(1).max(128)),
  stop: Stop,
  seed: nullable(z.number().int()),
  presence_penalty: nullable(z.number().min(-2).max(2)),
  frequency_penalty: nullable(z.number().min(-2).max(2)),
  logit_bias: nullable(z.record(z.string(), z.number())),
  user: z.string().max(256).optional(),
  max_tokens: nullable(z.number().int().min(1)),
};

const ChatBody = z.strictObject({
  ...Sampling,
  messages: z.array(Message).min(1, 'messages must contain at least one message'),
  max_completion_tokens: nullable(z.number().int().min(1)),
  response_format: ResponseFormatSchema.optional(),
  tools: z.array(z.unknown()).optional(),
  tool_choice: z.unknown().optional(),
  parallel_tool_calls: z.boolean().optional(),
  functions: z.array(z.unknown()).optional(),
  function_call: z.unknown().optional(),
  logprobs: nullable(z.boolean()),
  top_logprobs: nullable(z.number().int()),
});

const CompletionBody = z.strictObject({
  ...Sampling,
  prompt: z.union([
    z.string(),
    z.array(z.string()),
    z.array(z.number()),
    z.array(z.array(z.number())),
  ]),
  echo: nullable(z.boolean()),
  suffix: nullable(z.string()),
  best_of: nullable(z.number().int()),
  logprobs: nullable(z.number().int()),
});

/** A validated chat or completion request, mapped to what the engine understands. */
export interface ParsedRequest {
  kind: 'chat' | 'completion';
  model: string;
  stream: boolean;
  includeUsage: boolean;
  options: Omit<GenerationOptions, 'signal'>;
  /** Chat only. */
  messages?: ChatMessage[];
  /** Completions only. */
  prompt?: string;
  /** Completions only: prepend the prompt to the answer. */
  echo?: boolean;
}

function zodToOpenAI(error: z.ZodError): OpenAIError {
  const issue = error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    const at = issue.path.length > 0 ? `${issue.path.join('.')}.${key}` : key;
    return invalidRequest(`Unrecognized request argument supplied: ${at}`, at);
  }
  const param = issue.path.map(String).join('.') || null;
  const what = param == null ? 'request body' : `'${param}'`;
  return invalidRequest(`Invalid value for ${what}: ${issue.message}`, param);
}

function sharedChecks(body: z.infer<typeof ChatBody> | z.infer<typeof CompletionBody>): void {
  if (body.n != null && body.n !== 1) {
    throw unsupported(
      'n',
      'n > 1 is not supported: a token.place node returns one choice per request.',
    );
  }
  if (body.logit_bias != null && Object.keys(body.logit_bias).length > 0) {
    throw unsupported('logit_bias', 'logit_bias is not supported by token.place nodes.');
  }
  if (body.stream_options != null && body.stream !== true) {
    throw invalidRequest('stream_options is only allowed when stream is true.', 'stream_options');
  }
}

function sampling(
  body: z.infer<typeof ChatBody> | z.infer<typeof CompletionBody>,
): ParsedRequest['options'] {
  const options: ParsedRequest['options'] = {};
  if (body.temperature != null) options.temperature = body.temperature;
  if (body.top_p != null) options.topP = body.top_p;
  if (body.seed != null) options.seed = body.seed;
  if (body.presence_penalty != null) options.presencePenalty = body.presence_penalty;
  if (body.frequency_penalty != null) options.frequencyPenalty = body.frequency_penalty;
  if (body.stop != null) {
    const stop = (Array.isArray(body.stop) ? body.stop : [body.stop]).filter((s) => s !== '');
    if (stop.length > 0) options.stop = stop;
  }
  return options;
}

function contentText(content: z.infer<typeof MessageContent> | null | undefined): string {
  if (content == null) return '';
  return typeof content === 'string' ? content : content.map((p) => p.text).join('');
}

export function parseChatRequest(raw: unknown): ParsedRequest {
  const parsed = ChatBody.safeParse(raw);
  if (!parsed.success) {
    // Image, audio or file parts get a specific message rather than a schema dump.
    const messages = (raw as { messages?: unknown })?.messages;
    if (Array.isArray(messages)) {
      for (const m of messages) {
        const content = (m as { content?: unknown })?.content;
        if (
          Array.isArray(content) &&
          content.some((p) => (p as { type?: unknown })?.type !== 'text')
        ) {
          throw unsupported(
            'messages',
            'Only text content parts are supported (no images, audio or files).',
          );
        }
      }
    }
    throw zodToOpenAI(parsed.error);
  }
  const body = parsed.data;
  sharedChecks(body);
  if ((body.tools?.length ?? 0) > 0 || (body.functions?.length ?? 0) > 0) {
    throw unsupported(
      'tools',
      'Tool and function calling are not supported by token.place nodes yet.',
    );
  }
  if (body.tool_choice != null || body.function_call != null || body.parallel_tool_calls != null) {
    throw unsupported(
      'tool_choice',
      'tool_choice is not supported: token.place nodes do not call tools yet.',
    );
  }
  if (body.logprobs === true || body.top_logprobs != null) {
    throw unsupported('logprobs', 'logprobs are not supported by token.place nodes.');
  }
  const messages: ChatMessage[] = body.messages.map((m, i) => {
    if (
      m.role === 'tool' ||
      m.role === 'function' ||
      m.tool_calls != null ||
      m.tool_call_id != null
    ) {
      throw unsupported(
        `messages.${i}`,
        'Tool messages are not supported: token.place nodes do not call tools yet.',
      );
    }
    return { role: m.role, content: contentText(m.content) };
  });
  if (messages[messages.length - 1]!.role === 'assistant') {
    throw invalidRequest('The last message must not be from the assistant.', 'messages');
  }
  const options = sampling(body);
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  if (maxTokens != null) options.maxTokens = maxTokens;
  if (body.response_format != null) {
    const rf = body.response_format;
    let format: ResponseFormat;
    if (rf.type === 'json_schema') {
      if (rf.json_schema.schema == null) {
        throw invalidRequest(
          'response_format.json_schema.schema is required.',
          'response_format.json_schema.schema',
        );
      }
      format = { type: 'json_schema', schema: rf.json_schema.schema };
    } else {
      format = rf;
    }
    options.responseFormat = format;
  }
  return {
    kind: 'chat',
    model: body.model,
    stream: body.stream === true,
    includeUsage: body.stream_options?.include_usage === true,
    options,
    messages,
  };
}

/** OpenAI's legacy completions default `max_tokens` (16), kept for compatibility. */
export const COMPLETIONS_DEFAULT_MAX_TOKENS = 16;

export function parseCompletionRequest(raw: unknown): ParsedRequest {
  const parsed = CompletionBody.safeParse(raw);
  if (!parsed.success) throw zodToOpenAI(parsed.error);
  const body = parsed.data;
  sharedChecks(body);
  let prompt: string;
  if (typeof body.prompt === 'string') prompt = body.prompt;
  else if (body.prompt.length === 1 && typeof body.prompt[0] === 'string') prompt = body.prompt[0];
  else {
    throw unsupported(
      'prompt',
      'prompt must be one string: batched prompts and token arrays are not supported.',
    );
  }
  if (body.suffix != null)
    throw unsupported('suffix', 'suffix (fill-in-the-middle) is not supported.');
  if (body.best_of != null && body.best_of !== 1)
    throw unsupported('best_of', 'best_of > 1 is not supported.');
  if (body.logprobs != null)
    throw unsupported('logprobs', 'logprobs are not supported by token.place nodes.');
  const options = sampling(body);
  options.maxTokens = body.max_tokens ?? COMPLETIONS_DEFAULT_MAX_TOKENS;
  return {
    kind: 'completion',
    model: body.model,
    stream: body.stream === true,
    includeUsage: body.stream_options?.include_usage === true,
    options,
    prompt,
    echo: body.echo === true,
  };
}
