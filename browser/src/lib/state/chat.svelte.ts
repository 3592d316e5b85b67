/**
 * Sending prompts and streaming answers.
 *
 * Each conversation has at most one answer in flight (a {@link Generation}); answers in
 * other conversations keep streaming while the user looks elsewhere. The answer's text
 * is written straight into its (reactive) message, so the page updates token by token;
 * history is saved when the answer ends, not on every token.
 *
 * Flow of one answer (`ChatUpdate`s from `MeshClient.chat`):
 * `node` → `token`… → `done` | `error`; a `retry` in between wipes the partial text and
 * the next `node` names the replacement. Stop aborts the signal: the message ends at once
 * as "stopped" and whatever the stream still yields is ignored.
 */
import { SvelteMap } from 'svelte/reactivity';
import type { ChatRequest, ChatTurn, ChatUpdate, NodeInfo } from '../mesh/index.js';
import type { AssistantMessage, Conversation, ConversationStore } from './conversations.svelte.js';
import type { MeshConnection } from './meshConnection.svelte.js';
import type { ModelsStore } from './models.svelte.js';
import type { UiState } from './ui.svelte.js';

export const NODE_DROPPED_TEXT = 'node dropped, retrying on another node…';
export const NO_NODES_TEXT = 'no nodes serve this model right now';
/**
 * Waiting this long on a node without a word, the answer offers another node. The same
 * wait after which the mesh client takes a node stopped before its first word for stuck
 * (`ABANDONED_AFTER_MS`, protocol/mesh.ts; not imported, to keep the mesh code out of the
 * UI's chunk).
 */
export const SLOW_NODE_MS = 5_000;

/** One answer being streamed. */
export class Generation {
  phase = $state<'waiting' | 'streaming' | 'retrying'>('waiting');
  node = $state.raw<NodeInfo | null>(null);
  retryReason = $state<string | null>(null);
  readonly controller = new AbortController();

  constructor(
    readonly conversationId: string,
    readonly messageId: string,
  ) {}
}

export interface ChatStoreDeps {
  connection: MeshConnection;
  conversations: ConversationStore;
  models: ModelsStore;
  ui: UiState;
}

export class ChatStore {
  readonly #generations = new SvelteMap<string, Generation>();
  readonly #deps: ChatStoreDeps;

  /** The answer streaming in the conversation on screen, if any. */
  readonly current: Generation | null = $derived.by(() => {
    const id = this.#deps.conversations.activeId;
    return id == null ? null : (this.#generations.get(id) ?? null);
  });

  /** Why a new prompt cannot be sent right now (shown next to the disabled Send), or `null`. */
  readonly blockedReason: string | null = $derived.by(() => {
    const { connection, models } = this.#deps;
    if (connection.startError != null) return 'Not connected to the mesh.';
    switch (connection.status) {
      case 'connecting':
        // The bootstrap's snapshot listed the models: a prompt goes straight to a node
        // (the client dials it directly), with or without the relay connection.
        if (models.loaded) break;
        return 'Connecting to the mesh…';
      case 'reconnecting':
        return 'Reconnecting to the mesh…';
      case 'offline':
        return 'Offline: sending resumes when the mesh is back.';
      case 'online':
        break;
    }
    if (!models.loaded) {
      return models.error == null ? 'Loading models…' : 'Could not load the models.';
    }
    if (models.selectedId == null) {
      return models.models.length === 0 ? 'No models in the mesh yet.' : 'Pick a model.';
    }
    if (models.unserved) return `${NO_NODES_TEXT}.`;
    return null;
  });

  readonly canSend = $derived(this.blockedReason == null && this.current == null);

  /** The node answering now, else the one that gave the last answer on screen. */
  readonly node: NodeInfo | null = $derived.by(() => {
    if (this.current?.node != null) return this.current.node;
    const messages = this.#deps.conversations.active?.messages ?? [];
    for (let i = messages.length - 1; i >= 0; i--) {
      const message = messages[i];
      if (message?.role === 'assistant' && message.node != null) return message.node;
    }
    return null;
  });

  constructor(deps: ChatStoreDeps) {
    this.#deps = deps;
  }

  generationFor(conversationId: string): Generation | null {
    return this.#generations.get(conversationId) ?? null;
  }

  get busy(): boolean {
    return this.#generations.size > 0;
  }

  /** Sends a prompt in the active conversation (starting one if needed). */
  send(prompt: string): boolean {
    const { conversations, models } = this.#deps;
    const model = models.selectedId;
    if (prompt.trim() === '' || !this.canSend || model == null) return false;
    const conversation = conversations.active ?? conversations.create(model);
    conversation.model = model;
    conversations.addMessage(conversation.id, { role: 'user', content: prompt.trimEnd() });
    this.#start(conversation, model);
    return true;
  }

  /** Asks again for the last answer of a conversation, replacing it. */
  regenerate(conversationId = this.#deps.conversations.activeId): boolean {
    const { conversations, models } = this.#deps;
    if (conversationId == null || this.#generations.has(conversationId)) return false;
    if (this.blockedReason != null) return false;
    const conversation = conversations.get(conversationId);
    const last = conversation?.messages.at(-1);
    if (conversation == null || last == null) return false;
    if (last.role === 'assistant') conversations.removeMessage(conversation.id, last.id);
    if (conversation.messages.at(-1)?.role !== 'user') return false;
    const model = models.selectedId ?? conversation.model;
    conversation.model = model;
    this.#start(conversation, model);
    return true;
  }

  /** Stops the answer streaming in a conversation (by default the one on screen). */
  stop(conversationId = this.#deps.conversations.activeId): boolean {
    if (conversationId == null) return false;
    const generation = this.#generations.get(conversationId);
    if (generation == null) return false;
    generation.controller.abort();
    this.#finish(generation, (message) => {
      message.finish = 'aborted';
    });
    this.#deps.ui.announce('Stopped.');
    return true;
  }

  /**
   * Gives up on the node an answer waits for and asks another: Stop, then Regenerate with
   * that node tried after every other one (for a minute). False when the answer has no
   * node yet, or Regenerate cannot run (offline).
   */
  tryAnotherNode(conversationId = this.#deps.conversations.activeId): boolean {
    if (conversationId == null) return false;
    const node = this.#generations.get(conversationId)?.node;
    if (node == null) return false;
    this.#deps.connection.client?.avoid?.(node.peerId);
    this.stop(conversationId);
    return this.regenerate(conversationId);
  }

  /** Stops everything (closing the page, deleting conversations). */
  stopAll(): void {
    for (const id of [...this.#generations.keys()]) this.stop(id);
  }

  #start(conversation: Conversation, model: string): void {
    const { conversations, connection } = this.#deps;
    const client = connection.client;
    if (client == null) return;
    const request: ChatRequest = { model, messages: historyOf(conversation) };
    const message = conversations.addMessage(conversation.id, {
      role: 'assistant',
      content: '',
      model,
    });
    conversations.save();
    const generation = new Generation(conversation.id, message.id);
    this.#generations.set(conversation.id, generation);
    void this.#stream(generation, message, () =>
      client.chat(request, { signal: generation.controller.signal }),
    );
  }

  async #stream(
    generation: Generation,
    message: AssistantMessage,
    open: () => AsyncGenerator<ChatUpdate>,
  ): Promise<void> {
    const { signal } = generation.controller;
    const { ui } = this.#deps;
    try {
      for await (const update of open()) {
        // After Stop the message is final; late updates change nothing.
        if (signal.aborted) return;
        switch (update.type) {
          case 'node':
            generation.node = update.node;
            message.node = update.node;
            break;
          case 'token':
            if (generation.phase !== 'streaming') ui.announce('Answering…');
            generation.phase = 'streaming';
            generation.retryReason = null;
            message.content += update.text;
            break;
          case 'retry':
            generation.phase = 'retrying';
            generation.retryReason = update.reason;
            message.content = '';
            ui.announce(NODE_DROPPED_TEXT);
            break;
          case 'done':
            this.#finish(generation, (m) => {
              m.finish = update.finishReason;
              if (update.usage != null) m.usage = { ...update.usage };
            });
            ui.announce(update.finishReason === 'length' ? 'Answer cut at max tokens.' : 'Done.');
            return;
          case 'error':
            this.#finish(generation, (m) => {
              m.finish = 'error';
              m.error = { kind: update.kind, message: update.message };
            });
            ui.announce(`Error: ${update.message}`);
            return;
        }
      }
      if (signal.aborted) return;
      this.#finish(generation, (m) => {
        m.finish = 'error';
        m.error = { kind: 'incomplete', message: 'The answer ended before the node finished it.' };
      });
      ui.announce('The answer ended early.');
    } catch (err) {
      if (signal.aborted) return;
      this.#finish(generation, (m) => {
        m.finish = 'error';
        m.error = {
          kind: 'other',
          message: err instanceof Error && err.message !== '' ? err.message : 'The chat failed.',
        };
      });
      ui.announce('The answer failed.');
    }
  }

  /** Ends a generation once: applies the final state to its message and saves. */
  #finish(generation: Generation, apply: (message: AssistantMessage) => void): void {
    if (this.#generations.get(generation.conversationId) !== generation) return;
    this.#generations.delete(generation.conversationId);
    const { conversations } = this.#deps;
    const message = conversations
      .get(generation.conversationId)
      ?.messages.find((m) => m.id === generation.messageId);
    if (message?.role !== 'assistant') return;
    apply(message);
    conversations.touch(generation.conversationId);
    conversations.save();
  }
}

/** The turns to send: everything before the new answer, minus failed or empty answers. */
function historyOf(conversation: Conversation): ChatTurn[] {
  return conversation.messages
    .filter((m) => m.role === 'user' || (m.finish !== 'error' && m.content !== ''))
    .map((m) => ({ role: m.role, content: m.content }));
}
