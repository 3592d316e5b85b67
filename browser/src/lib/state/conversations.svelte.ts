/**
 * The conversation list, kept in `localStorage` under a versioned key.
 *
 * Storage is the user's own browser, but it is still untrusted input: another version
 * of the app, an extension or a half-written value may have left anything there. A
 * value that does not parse is copied aside (`<key>.corrupt`) and the list starts
 * empty; conversations or messages that do not validate are dropped one by one.
 */
import type { ChatUpdate, NodeInfo } from '../mesh/index.js';
import { newId } from '../ids.js';
import { browserStorage, readItem, removeItem, writeItem } from './safe-storage.js';

export const CONVERSATIONS_STORAGE_KEY = 'tokenplace.conversations.v1';
export const CONVERSATIONS_STORAGE_VERSION = 1;
/** Where an unreadable stored value is kept, so a bug never silently destroys history. */
export const CORRUPT_SUFFIX = '.corrupt';
const TITLE_MAX_CHARS = 60;

/** How an answer ended. `error` carries `AssistantMessage.error`. */
export type FinishState = 'stop' | 'length' | 'aborted' | 'error';
export type ChatErrorKind = Extract<ChatUpdate, { type: 'error' }>['kind'] | 'incomplete';

export interface UserMessage {
  id: string;
  role: 'user';
  content: string;
  createdAt: number;
}

export interface AssistantMessage {
  id: string;
  role: 'assistant';
  content: string;
  createdAt: number;
  model: string;
  /** The node that answered (the last one, if a retry moved to another). */
  node?: NodeInfo;
  /** Unset while the answer is streaming. */
  finish?: FinishState;
  error?: { kind: ChatErrorKind; message: string };
  usage?: { promptTokens: number; completionTokens: number };
}

export type Message = UserMessage | AssistantMessage;

export interface Conversation {
  id: string;
  title: string;
  model: string;
  createdAt: number;
  updatedAt: number;
  messages: Message[];
}

interface StoredConversations {
  version: typeof CONVERSATIONS_STORAGE_VERSION;
  activeId: string | null;
  conversations: Conversation[];
}

export interface ConversationStoreOptions {
  /** @default the page's localStorage (or none, where the browser refuses it) */
  storage?: Storage | null;
  /** @default CONVERSATIONS_STORAGE_KEY */
  key?: string;
  /** @default Date.now */
  now?: () => number;
}

export type NewMessage =
  Omit<UserMessage, 'id' | 'createdAt'> | Omit<AssistantMessage, 'id' | 'createdAt'>;

export class ConversationStore {
  conversations = $state<Conversation[]>([]);
  activeId = $state<string | null>(null);
  /** Why history could not be read or saved, for a quiet notice; `null` when all is well. */
  storageProblem = $state<string | null>(null);

  readonly active = $derived(this.conversations.find((c) => c.id === this.activeId) ?? null);
  /** Most recently used first. */
  readonly sorted = $derived([...this.conversations].sort((a, b) => b.updatedAt - a.updatedAt));

  readonly #storage: Storage | null;
  readonly #key: string;
  readonly #now: () => number;

  constructor(options: ConversationStoreOptions = {}) {
    this.#storage = options.storage === undefined ? browserStorage() : options.storage;
    this.#key = options.key ?? CONVERSATIONS_STORAGE_KEY;
    this.#now = options.now ?? Date.now;
    this.load();
  }

  /** (Re)reads the list from storage. */
  load(): void {
    const raw = readItem(this.#storage, this.#key);
    this.storageProblem = null;
    if (raw == null) {
      this.conversations = [];
      this.activeId = null;
      return;
    }
    const parsed = parseStored(raw);
    if (parsed == null) {
      writeItem(this.#storage, this.#key + CORRUPT_SUFFIX, raw);
      removeItem(this.#storage, this.#key);
      this.conversations = [];
      this.activeId = null;
      this.storageProblem = 'Saved chats could not be read, so the list starts empty.';
      return;
    }
    this.conversations = parsed.conversations;
    this.activeId = parsed.conversations.some((c) => c.id === parsed.activeId)
      ? parsed.activeId
      : null;
  }

  save(): void {
    const stored: StoredConversations = {
      version: CONVERSATIONS_STORAGE_VERSION,
      activeId: this.activeId,
      conversations: $state.snapshot(this.conversations),
    };
    const problem = writeItem(this.#storage, this.#key, JSON.stringify(stored));
    this.storageProblem = problem == null ? null : `Chats are not being saved: ${problem}.`;
  }

  get(id: string): Conversation | undefined {
    return this.conversations.find((c) => c.id === id);
  }

  /** Starts a conversation, makes it the active one, and returns it (reactive). */
  create(model: string): Conversation {
    const now = this.#now();
    this.conversations.push({
      id: newId(),
      title: 'New chat',
      model,
      createdAt: now,
      updatedAt: now,
      messages: [],
    });
    const conversation = this.conversations[this.conversations.length - 1]!;
    this.activeId = conversation.id;
    return conversation;
  }

  /** Appends a message and returns it (reactive: mutate it to update the page). */
  addMessage<M extends NewMessage>(conversationId: string, message: M): M & Message {
    const conversation = this.#require(conversationId);
    const now = this.#now();
    conversation.messages.push({ ...message, id: newId(), createdAt: now } as Message);
    conversation.updatedAt = now;
    if (message.role === 'user' && conversation.title === 'New chat') {
      conversation.title = titleFrom(message.content);
    }
    return conversation.messages[conversation.messages.length - 1] as M & Message;
  }

  removeMessage(conversationId: string, messageId: string): void {
    const conversation = this.get(conversationId);
    if (conversation == null) return;
    const index = conversation.messages.findIndex((m) => m.id === messageId);
    if (index >= 0) conversation.messages.splice(index, 1);
  }

  touch(conversationId: string): void {
    const conversation = this.get(conversationId);
    if (conversation != null) conversation.updatedAt = this.#now();
  }

  /** `null` starts a new, not yet saved, chat. */
  select(id: string | null): void {
    this.activeId = id != null && this.get(id) != null ? id : null;
    this.save();
  }

  remove(id: string): void {
    this.conversations = this.conversations.filter((c) => c.id !== id);
    if (this.activeId === id) this.activeId = null;
    this.save();
  }

  clearAll(): void {
    this.conversations = [];
    this.activeId = null;
    removeItem(this.#storage, this.#key);
    // "Clear all" means all: an unreadable copy kept aside is history too.
    removeItem(this.#storage, this.#key + CORRUPT_SUFFIX);
    this.storageProblem = null;
  }

  #require(id: string): Conversation {
    const conversation = this.get(id);
    if (conversation == null) throw new Error(`no conversation ${id}`);
    return conversation;
  }
}

/** A short title from the first prompt. */
export function titleFrom(prompt: string): string {
  const line = prompt.replace(/\s+/g, ' ').trim();
  if (line === '') return 'New chat';
  return line.length > TITLE_MAX_CHARS ? `${line.slice(0, TITLE_MAX_CHARS - 1).trimEnd()}…` : line;
}

/** Parses a stored value; `null` when it is not ours (bad JSON, wrong shape or version). */
export function parseStored(raw: string): StoredConversations | null {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return null;
  }
  if (!isRecord(value) || value.version !== CONVERSATIONS_STORAGE_VERSION) return null;
  if (!Array.isArray(value.conversations)) return null;
  const conversations = value.conversations.flatMap((c) => {
    const conversation = parseConversation(c);
    return conversation == null ? [] : [conversation];
  });
  const activeId = typeof value.activeId === 'string' ? value.activeId : null;
  return { version: CONVERSATIONS_STORAGE_VERSION, activeId, conversations };
}

function parseConversation(value: unknown): Conversation | null {
  if (!isRecord(value)) return null;
  const { id, title, model, createdAt, updatedAt, messages } = value;
  if (typeof id !== 'string' || id === '' || typeof title !== 'string') return null;
  if (typeof model !== 'string' || !isTime(createdAt) || !isTime(updatedAt)) return null;
  if (!Array.isArray(messages)) return null;
  return {
    id,
    title,
    model,
    createdAt,
    updatedAt,
    messages: messages.flatMap((m) => {
      const message = parseMessage(m);
      return message == null ? [] : [message];
    }),
  };
}

const FINISH_STATES: readonly string[] = ['stop', 'length', 'aborted', 'error'];
const ERROR_KINDS: readonly string[] = [
  'no-nodes',
  'node-failed',
  'offline',
  'bad-request',
  'other',
  'incomplete',
];

function parseMessage(value: unknown): Message | null {
  if (!isRecord(value)) return null;
  const { id, role, content, createdAt } = value;
  if (typeof id !== 'string' || typeof content !== 'string' || !isTime(createdAt)) return null;
  if (role === 'user') return { id, role, content, createdAt };
  if (role !== 'assistant' || typeof value.model !== 'string') return null;
  const message: AssistantMessage = { id, role, content, createdAt, model: value.model };
  const node = parseNode(value.node);
  if (node != null) message.node = node;
  // An answer that was still streaming when the page closed ended there.
  message.finish =
    typeof value.finish === 'string' && FINISH_STATES.includes(value.finish)
      ? (value.finish as FinishState)
      : 'aborted';
  const error = value.error;
  if (
    isRecord(error) &&
    typeof error.kind === 'string' &&
    ERROR_KINDS.includes(error.kind) &&
    typeof error.message === 'string'
  ) {
    message.error = { kind: error.kind as ChatErrorKind, message: error.message };
  } else if (message.finish === 'error') {
    message.error = { kind: 'other', message: 'This answer failed.' };
  }
  const usage = value.usage;
  if (isRecord(usage) && isCount(usage.promptTokens) && isCount(usage.completionTokens)) {
    message.usage = { promptTokens: usage.promptTokens, completionTokens: usage.completionTokens };
  }
  return message;
}

function parseNode(value: unknown): NodeInfo | null {
  if (!isRecord(value)) return null;
  const { peerId, fingerprint, verified, transport, route, hardware, load } = value;
  if (typeof peerId !== 'string' || typeof fingerprint !== 'string') return null;
  if (typeof verified !== 'boolean' || typeof transport !== 'string') return null;
  if (transport !== 'direct WebRTC' && transport !== 'relayed' && transport !== 'WebSocket') {
    return null;
  }
  if (route !== undefined && route !== 'WebRTC-direct' && route !== 'signalled through the relay') {
    return null;
  }
  if (!isRecord(hardware) || !isRecord(load)) return null;
  const { platform, arch, cpus, cpuModel, memoryBytes, backend, gpu } = hardware;
  if (typeof platform !== 'string' || typeof arch !== 'string' || !isCount(cpus)) return null;
  if (typeof cpuModel !== 'string' || !isCount(memoryBytes) || typeof backend !== 'string') {
    return null;
  }
  if (gpu !== null && typeof gpu !== 'string') return null;
  const { active, queued, maxConcurrency } = load;
  if (!isCount(active) || !isCount(queued) || !isCount(maxConcurrency)) return null;
  return {
    peerId,
    fingerprint,
    verified,
    transport,
    ...(route !== undefined ? { route } : {}),
    hardware: { platform, arch, cpus, cpuModel, memoryBytes, backend, gpu },
    load: { active, queued, maxConcurrency },
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}
