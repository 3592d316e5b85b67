/**
 * Pure translations between what the mesh says and what the UI shows: verified model
 * cards → the model list, OpenAI stream chunks → `ChatUpdate`s, node errors → the UI's
 * error kinds, and the reconnect schedule. No I/O, so each is unit-tested on its own.
 */
import type { ModelCard } from '../../../../protocol/messages.js';
import type { Transport } from '../../../../protocol/mesh.js';
import type { ChatRequest, ChatUpdate, MeshModel, NodeInfo } from './types.js';

/** The model list: one entry per model id, counting the nodes whose verified card names it. */
export function aggregateModels(
  providers: ReadonlyArray<{ cards: readonly ModelCard[] }>,
): MeshModel[] {
  const byId = new Map<string, MeshModel>();
  for (const provider of providers) {
    const seen = new Set<string>();
    for (const { model } of provider.cards) {
      if (seen.has(model.id)) continue;
      seen.add(model.id);
      const entry = byId.get(model.id);
      if (entry != null) {
        entry.nodes += 1;
        continue;
      }
      byId.set(model.id, {
        id: model.id,
        nodes: 1,
        ...(model.family !== '' ? { family: model.family } : {}),
        ...(model.parameters > 0 ? { parameters: model.parameters } : {}),
        ...(model.quantization !== '' ? { quantization: model.quantization } : {}),
        ...(model.contextLength > 0 ? { contextLength: model.contextLength } : {}),
      });
    }
  }
  return [...byId.values()].sort((a, b) => b.nodes - a.nodes || a.id.localeCompare(b.id));
}

/** The OpenAI request body sealed to the node. */
export function chatBody(request: ChatRequest): Record<string, unknown> {
  return {
    model: request.model,
    messages: request.messages.map((m) => ({ role: m.role, content: m.content })),
    stream: true,
    stream_options: { include_usage: true },
    ...(request.temperature != null ? { temperature: request.temperature } : {}),
    ...(request.maxTokens != null ? { max_tokens: request.maxTokens } : {}),
  };
}

/** What one `chat.completion.chunk` carries for the UI. */
export interface ChunkContent {
  text: string;
  finishReason: 'stop' | 'length' | null;
  usage: { promptTokens: number; completionTokens: number } | null;
}

/** Reads a streamed chunk defensively: the node is a peer, not a trusted server. */
export function readChunk(data: Record<string, unknown>): ChunkContent {
  let text = '';
  let finishReason: ChunkContent['finishReason'] = null;
  const choices = Array.isArray(data.choices) ? (data.choices as unknown[]) : [];
  const choice = choices[0];
  if (isRecord(choice)) {
    const delta = choice.delta;
    if (isRecord(delta) && typeof delta.content === 'string') text = delta.content;
    // A plain completion chunk carries `text` instead of a delta.
    else if (typeof choice.text === 'string') text = choice.text;
    if (choice.finish_reason === 'length') finishReason = 'length';
    else if (typeof choice.finish_reason === 'string') finishReason = 'stop';
  }
  let usage: ChunkContent['usage'] = null;
  if (isRecord(data.usage)) {
    const prompt = data.usage.prompt_tokens;
    const completion = data.usage.completion_tokens;
    if (typeof prompt === 'number' && typeof completion === 'number') {
      usage = { promptTokens: prompt, completionTokens: completion };
    }
  }
  return { text, finishReason, usage };
}

/** The answer of a non-streamed `result` event (a node that ignored `stream: true`). */
export function readResult(data: Record<string, unknown>): ChunkContent {
  const choices = Array.isArray(data.choices) ? (data.choices as unknown[]) : [];
  const choice = choices[0];
  const message = isRecord(choice) ? choice.message : undefined;
  const text = isRecord(message) && typeof message.content === 'string' ? message.content : '';
  const base = readChunk({ ...data, choices: [] });
  const finish = isRecord(choice) ? choice.finish_reason : undefined;
  return { ...base, text, finishReason: finish === 'length' ? 'length' : 'stop' };
}

export type ErrorKind = Extract<ChatUpdate, { type: 'error' }>['kind'];

/**
 * What to do with an OpenAI-shaped error from a node: `next` tries another node (busy,
 * failing, or not serving the model after all), `report` ends the chat with that kind.
 */
export function classifyNodeError(
  status: number,
): { action: 'next' } | { action: 'report'; kind: ErrorKind } {
  if (status === 429 || status >= 500 || status === 404) return { action: 'next' };
  if (status >= 400) return { action: 'report', kind: 'bad-request' };
  return { action: 'report', kind: 'other' };
}

/** The transport words the node panel uses (a browser dials WebRTC or WebSockets only). */
export function transportLabel(transport: Transport): NodeInfo['transport'] {
  switch (transport) {
    case 'direct WebRTC':
    case 'relayed':
    case 'WebSocket':
      return transport;
    default:
      // TCP cannot happen in a browser; anything else direct is a socket of some kind.
      return 'WebSocket';
  }
}

export interface BackoffPolicy {
  /** First retry delay. @default 500 */
  initialMs?: number;
  /** Longest delay while reconnecting. @default 8_000 */
  maxMs?: number;
  /** Delay between attempts once offline. @default 30_000 */
  offlineMs?: number;
  /** ± this fraction of jitter, so many pages do not retry in step. @default 0.2 */
  jitter?: number;
}

/** Delay before reconnect attempt `attempt` (1-based): doubling, capped; slow once offline. */
export function backoffMs(
  attempt: number,
  offline: boolean,
  policy: BackoffPolicy = {},
  random: () => number = Math.random,
): number {
  const initial = policy.initialMs ?? 500;
  const base = offline
    ? (policy.offlineMs ?? 30_000)
    : Math.min(policy.maxMs ?? 8_000, initial * 2 ** Math.max(0, attempt - 1));
  const jitter = policy.jitter ?? 0.2;
  return Math.round(base * (1 - jitter + 2 * jitter * random()));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value != null && !Array.isArray(value);
}
