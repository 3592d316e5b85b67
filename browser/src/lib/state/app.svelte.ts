/**
 * Everything the chat page knows, in one object handed to components through context
 * (`getAppState()` from `context.ts`). Each part is a small state class; this one only
 * wires them together and holds the actions that span several.
 */
import { ChatStore } from './chat.svelte.js';
import { ConversationStore } from './conversations.svelte.js';
import { MeshConnection } from './meshConnection.svelte.js';
import type { ConnectFn } from './meshConnection.svelte.js';
import { ModelsStore } from './models.svelte.js';
import { browserStorage } from './safe-storage.js';
import { ThemeStore } from './theme.svelte.js';
import { UiState } from './ui.svelte.js';

/** How often the model list is refreshed while online. */
export const MODELS_REFRESH_MS = 20_000;
/** A list this recent (the bootstrap's snapshot) is not fetched again on coming online. */
export const MODELS_FRESH_MS = 10_000;

export interface AppStateOptions {
  connect: ConnectFn;
  /** @default the page's localStorage */
  storage?: Storage | null;
}

export class AppState {
  readonly connection: MeshConnection;
  readonly models: ModelsStore;
  readonly conversations: ConversationStore;
  readonly theme: ThemeStore;
  readonly ui: UiState;
  readonly chat: ChatStore;

  constructor(options: AppStateOptions) {
    const storage = options.storage === undefined ? browserStorage() : options.storage;
    this.connection = new MeshConnection(options.connect);
    this.models = new ModelsStore({ storage });
    this.conversations = new ConversationStore({ storage });
    this.theme = new ThemeStore({ storage });
    this.ui = new UiState();
    this.chat = new ChatStore({
      connection: this.connection,
      conversations: this.conversations,
      models: this.models,
      ui: this.ui,
    });
  }

  newChat(): void {
    this.conversations.select(null);
    this.ui.drawerOpen = false;
    this.ui.focusPrompt();
  }

  openConversation(id: string): void {
    this.conversations.select(id);
    const model = this.conversations.active?.model;
    if (model != null && this.models.models.some((m) => m.id === model)) this.models.select(model);
    this.ui.drawerOpen = false;
    this.ui.focusPrompt();
  }

  deleteConversation(id: string): void {
    this.chat.stop(id);
    this.conversations.remove(id);
    this.ui.announce('Chat deleted.');
  }

  clearAll(): void {
    this.chat.stopAll();
    this.conversations.clearAll();
    this.ui.announce('All chats deleted.');
    this.ui.focusPrompt();
  }

  async destroy(): Promise<void> {
    this.chat.stopAll();
    this.theme.destroy();
    await this.connection.close();
  }
}
