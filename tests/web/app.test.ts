// Component tests: the whole chat page (App.svelte) mounted in Chromium, talking to a
// scripted FakeMeshClient. The fake lives here, in the test, and nowhere in the app.
import '../../browser/src/app.css';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { userEvent } from 'vitest/browser';
import { flushSync, mount, unmount } from 'svelte';
import App from '../../browser/src/App.svelte';
import { MeshUnavailableError } from '../../browser/src/lib/mesh/index.js';
import type {
  ChatRequest,
  ChatUpdate,
  ConnectionState,
  MeshClient,
  MeshModel,
  NodeInfo,
} from '../../browser/src/lib/mesh/index.js';
import { CONVERSATIONS_STORAGE_KEY } from '../../browser/src/lib/state/conversations.svelte.js';
import { THEME_STORAGE_KEY } from '../../browser/src/lib/state/theme.svelte.js';
import { SLOW_NODE_MS } from '../../browser/src/lib/state/chat.svelte.js';
import { ABANDONED_AFTER_MS } from '../../protocol/mesh.js';

declare global {
  interface Window {
    __xss?: unknown;
  }
}

const BOOTSTRAP = '/ip4/127.0.0.1/tcp/9091/ws/p2p/12D3KooWBootstrapBootstrapBootstrapBoot';
const ONLINE: ConnectionState = { kind: 'online', bootstrap: BOOTSTRAP, peers: 4 };

const NODE_A: NodeInfo = {
  peerId: '12D3KooWAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaNodeA1',
  fingerprint: 'ab12 cd34 ef56 7890',
  verified: true,
  transport: 'direct WebRTC',
  route: 'WebRTC-direct',
  hardware: {
    platform: 'linux',
    arch: 'arm64',
    cpus: 4,
    cpuModel: 'Cortex-A76',
    memoryBytes: 8 * 1024 ** 3,
    backend: 'cpu',
    gpu: null,
  },
  load: { active: 1, queued: 2, maxConcurrency: 2 },
};

const { route: _direct, ...RELAYED_BASE } = NODE_A;
const NODE_B: NodeInfo = {
  ...RELAYED_BASE,
  peerId: '12D3KooWBbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbNodeB2',
  fingerprint: '9f9f 0000 1111 2222',
  transport: 'relayed',
};

/** One scripted `chat()` call: the test pushes the updates the stream yields. */
class FakeChat {
  readonly #queue: Array<ChatUpdate | { end: true } | { fail: Error }> = [];
  #wake: (() => void) | null = null;

  constructor(
    readonly request: ChatRequest,
    readonly signal: AbortSignal,
  ) {
    signal.addEventListener('abort', () => this.#wake?.());
  }

  push(...updates: ChatUpdate[]): void {
    this.#queue.push(...updates);
    this.#wake?.();
  }

  /** Ends the stream without a `done` (a stream cut short). */
  end(): void {
    this.#queue.push({ end: true });
    this.#wake?.();
  }

  async *stream(): AsyncGenerator<ChatUpdate> {
    for (;;) {
      // Aborting closes the stream, as the MeshClient contract says.
      if (this.signal.aborted) return;
      const item = this.#queue.shift();
      if (item == null) {
        await new Promise<void>((resolve) => (this.#wake = resolve));
        this.#wake = null;
        continue;
      }
      if ('end' in item) return;
      if ('fail' in item) throw item.fail;
      yield item;
      if (item.type === 'done' || item.type === 'error') return;
    }
  }
}

/** A MeshClient test double: scripted connection state, models and chats. */
class FakeMeshClient implements MeshClient {
  state: ConnectionState = ONLINE;
  models: MeshModel[] = [
    { id: 'tiny', nodes: 3, family: 'llama', parameters: 1.1e9, quantization: 'Q4_K_M' },
    { id: 'big', nodes: 1 },
    { id: 'gone', nodes: 0 },
  ];
  readonly chats: FakeChat[] = [];
  /** The nodes `avoid()` was asked to try last. */
  readonly avoided: string[] = [];
  closed = false;
  readonly #listeners = new Set<(state: ConnectionState) => void>();
  #chatWaiters: Array<(chat: FakeChat) => void> = [];

  subscribe(listener: (state: ConnectionState) => void): () => void {
    this.#listeners.add(listener);
    listener(this.state);
    return () => this.#listeners.delete(listener);
  }

  setState(state: ConnectionState): void {
    this.state = state;
    for (const listener of this.#listeners) listener(state);
    flushSync();
  }

  async listModels(): Promise<MeshModel[]> {
    return this.models.map((m) => ({ ...m }));
  }

  avoid(peerId: string): void {
    this.avoided.push(peerId);
  }

  chat(request: ChatRequest, options: { signal: AbortSignal }): AsyncGenerator<ChatUpdate> {
    const chat = new FakeChat(structuredClone(request), options.signal);
    this.chats.push(chat);
    const waiters = this.#chatWaiters;
    this.#chatWaiters = [];
    for (const waiter of waiters) waiter(chat);
    return chat.stream();
  }

  /** The next `chat()` call (or the latest, if it already happened and is unclaimed). */
  nextChat(): Promise<FakeChat> {
    return new Promise((resolve) => this.#chatWaiters.push(resolve));
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

interface Mounted {
  target: HTMLElement;
  client: FakeMeshClient;
  byTestId<E extends Element = HTMLElement>(id: string): E;
  all<E extends Element = HTMLElement>(id: string): E[];
  prompt: HTMLTextAreaElement;
}

const mounted: Array<{ component: ReturnType<typeof mount>; target: HTMLElement }> = [];

async function setup(
  options: { client?: FakeMeshClient; connect?: () => Promise<MeshClient> } = {},
): Promise<Mounted> {
  const client = options.client ?? new FakeMeshClient();
  const target = document.createElement('div');
  target.style.height = '800px';
  document.body.append(target);
  const component = mount(App, {
    target,
    props: { connect: options.connect ?? (async () => client) },
  });
  mounted.push({ component, target });
  flushSync();
  const byTestId = <E extends Element = HTMLElement>(id: string): E => {
    const element = target.querySelector<E>(`[data-testid="${id}"]`);
    if (element == null) throw new Error(`no [data-testid="${id}"]`);
    return element;
  };
  const all = <E extends Element = HTMLElement>(id: string): E[] => [
    ...target.querySelectorAll<E>(`[data-testid="${id}"]`),
  ];
  const result = {
    target,
    client,
    byTestId,
    all,
    prompt: byTestId<HTMLTextAreaElement>('prompt-input'),
  };
  if (options.connect == null) {
    // Wait until the model list is in and a model is picked.
    await expect.poll(() => byTestId<HTMLSelectElement>('model-select').value).toBe('tiny');
  }
  return result;
}

beforeEach(() => {
  localStorage.clear();
  delete window.__xss;
});

afterEach(() => {
  for (const { component, target } of mounted.splice(0)) {
    void unmount(component);
    target.remove();
  }
  localStorage.clear();
  delete document.documentElement.dataset.theme;
});

/** Types into the prompt the way Svelte's bind:value sees it. */
function typePrompt(app: Mounted, text: string): void {
  app.prompt.value = text;
  app.prompt.dispatchEvent(new Event('input', { bubbles: true }));
  flushSync();
}

function sendButton(app: Mounted): HTMLButtonElement {
  return app.byTestId<HTMLButtonElement>('send-button');
}

function lastAnswer(app: Mounted): HTMLElement | undefined {
  return app.all('assistant-message').at(-1);
}

function answerText(app: Mounted): string {
  return lastAnswer(app)?.querySelector('.markdown')?.textContent?.trim() ?? '';
}

/** Sends `text` with the Send button and returns the chat call it started. */
async function send(app: Mounted, text: string): Promise<FakeChat> {
  typePrompt(app, text);
  const next = app.client.nextChat();
  sendButton(app).click();
  flushSync();
  return next;
}

describe('models and connection', () => {
  it('lists the mesh models with how many nodes serve each, best-served first', async () => {
    const app = await setup();
    const select = app.byTestId<HTMLSelectElement>('model-select');
    expect([...select.options].map((o) => o.textContent?.trim())).toEqual([
      'tiny · 3 nodes',
      'big · 1 node',
      'gone · 0 nodes',
    ]);
    expect(app.byTestId('connection-status').textContent).toContain('online');
    expect(sendButton(app).disabled).toBe(true); // nothing typed yet
    typePrompt(app, 'hi');
    expect(sendButton(app).disabled).toBe(false);
  });

  it('a model no node serves shows the empty state and disables Send', async () => {
    const app = await setup();
    typePrompt(app, 'hello');
    const select = app.byTestId<HTMLSelectElement>('model-select');
    select.value = 'gone';
    select.dispatchEvent(new Event('change', { bubbles: true }));
    flushSync();
    expect(app.byTestId('no-nodes').textContent).toContain('no nodes serve this model right now');
    expect(sendButton(app).disabled).toBe(true);
    select.value = 'big';
    select.dispatchEvent(new Event('change', { bubbles: true }));
    flushSync();
    expect(app.target.querySelector('[data-testid="no-nodes"]')).toBeNull();
    expect(sendButton(app).disabled).toBe(false);
  });

  it('offline disables Send; the transport reconnects by itself and Send comes back', async () => {
    const app = await setup();
    typePrompt(app, 'a draft');
    expect(sendButton(app).disabled).toBe(false);

    app.client.setState({
      kind: 'reconnecting',
      bootstrap: BOOTSTRAP,
      attempt: 2,
      lastError: 'WebSocket closed',
    });
    expect(app.byTestId('connection-status').textContent).toContain('reconnecting…');
    expect(app.byTestId('relay-notice').textContent).toContain('reconnecting (attempt 2)');
    expect(sendButton(app).disabled).toBe(true);

    app.client.setState({ kind: 'offline', bootstrap: BOOTSTRAP, reason: 'relay unreachable' });
    expect(app.byTestId('connection-status').textContent).toContain('offline');
    expect(app.byTestId('relay-notice').textContent).toContain('relay unreachable');
    expect(sendButton(app).disabled).toBe(true);
    expect(app.prompt.disabled).toBe(false); // the draft stays editable
    expect(app.prompt.value).toBe('a draft');

    app.client.setState(ONLINE);
    expect(app.byTestId('connection-status').textContent).toContain('online');
    expect(app.target.querySelector('[data-testid="relay-notice"]')).toBeNull();
    expect(sendButton(app).disabled).toBe(false);
  });

  it('shows "connecting" until the mesh client exists', async () => {
    let resolve!: (client: MeshClient) => void;
    const client = new FakeMeshClient();
    client.state = { kind: 'connecting', bootstrap: BOOTSTRAP };
    const app = await setup({
      client,
      connect: () => new Promise<MeshClient>((r) => (resolve = r)),
    });
    expect(app.byTestId('connection-status').textContent).toContain('connecting');
    resolve(client);
    await expect.poll(() => app.byTestId('connection-status').textContent).toContain('connecting');
    client.setState(ONLINE);
    await expect.poll(() => app.byTestId('connection-status').textContent).toContain('online');
  });

  it('start-up failure (no transport) is shown gracefully, with Try again', async () => {
    let attempts = 0;
    const app = await setup({
      connect: async () => {
        attempts += 1;
        throw new MeshUnavailableError('this browser cannot join the mesh: no WebRTC');
      },
    });
    await expect
      .poll(() => app.target.querySelector('[data-testid="startup-error"]')?.textContent ?? '')
      .toContain('this browser cannot join the mesh: no WebRTC');
    expect(app.byTestId('connection-status').textContent).toContain('offline');
    typePrompt(app, 'hello');
    expect(sendButton(app).disabled).toBe(true);
    expect(app.byTestId<HTMLSelectElement>('model-select').disabled).toBe(true);
    app.byTestId('reconnect-button').click();
    await expect.poll(() => attempts).toBe(2);
    await expect
      .poll(() => app.target.querySelector('[data-testid="startup-error"]') != null)
      .toBe(true);
  });
});

describe('connecting ahead', () => {
  it('asks the client to prepare the picked model, again when the pick changes', async () => {
    const client = new FakeMeshClient();
    const prepared: string[] = [];
    Object.assign(client, { prepare: (model: string) => prepared.push(model) });
    const app = await setup({ client });
    await expect.poll(() => prepared).toEqual(['tiny']);
    const select = app.byTestId<HTMLSelectElement>('model-select');
    select.value = 'big';
    select.dispatchEvent(new Event('change', { bubbles: true }));
    await expect.poll(() => prepared).toEqual(['tiny', 'big']);
    // A model nobody serves is not prepared (whether a prepare is useful while offline
    // is the client's call: see the mesh client's own tests).
    client.setState({ kind: 'offline', bootstrap: BOOTSTRAP, reason: 'relay unreachable' });
    flushSync();
    const before = prepared.length;
    select.value = 'gone';
    select.dispatchEvent(new Event('change', { bubbles: true }));
    client.setState(ONLINE);
    flushSync();
    expect(prepared.slice(before)).not.toContain('gone');
  });

  it('lists the models the client already knows (the snapshot) before it is online', async () => {
    const client = new FakeMeshClient();
    Object.assign(client, {
      knownModels: () => [{ id: 'early', nodes: 2 }],
      listModels: () => new Promise(() => {}),
    });
    client.setState({ kind: 'connecting', bootstrap: BOOTSTRAP });
    const app = await setup({ client, connect: async () => client });
    await expect.poll(() => app.byTestId<HTMLSelectElement>('model-select').value).toBe('early');
    // The relay is still coming up, but the page knows a node: a prompt can go to it.
    expect(app.byTestId('connection-status').textContent).toContain('connecting');
    const chat = await send(app, 'hello early');
    expect(chat.request.model).toBe('early');
  });

  it('while connecting with no models known yet, Send waits', async () => {
    const client = new FakeMeshClient();
    Object.assign(client, { knownModels: () => [], listModels: () => new Promise(() => {}) });
    client.setState({ kind: 'connecting', bootstrap: BOOTSTRAP });
    const app = await setup({ client, connect: async () => client });
    typePrompt(app, 'hello');
    expect(sendButton(app).disabled).toBe(true);
    expect(app.target.textContent).toContain('Connecting to the mesh…');
  });
});

describe('streaming an answer', () => {
  it('renders tokens incrementally, shows the node and the transport, then finishes', async () => {
    const app = await setup();
    const chat = await send(app, 'Say hello');
    expect(chat.request).toEqual({
      model: 'tiny',
      messages: [{ role: 'user', content: 'Say hello' }],
    });
    expect(app.prompt.value).toBe('');
    expect(app.target.querySelector('[data-testid="send-button"]')).toBeNull();
    expect(app.byTestId('stop-button')).toBeTruthy();

    chat.push({ type: 'node', node: NODE_A });
    await expect
      .poll(() => app.byTestId('connection-status').textContent)
      .toMatch(/online\s*· direct WebRTC/);
    expect(app.byTestId('node-fingerprint').textContent).toContain('ab12 cd34 ef56 7890');
    expect(app.byTestId('node-fingerprint').textContent).toContain('✓');
    expect(app.byTestId('node-transport').textContent).toBe('direct WebRTC');
    // As read on screen: the transport, then how the connection was made.
    expect(app.byTestId('node-transport').parentElement?.innerText).toBe(
      'direct WebRTC · WebRTC-direct',
    );
    expect(app.byTestId('node-hardware').textContent).toContain('Cortex-A76 (4 cores)');
    expect(app.byTestId('node-hardware').textContent).toContain('8 GB RAM');
    expect(app.byTestId('node-load').textContent).toContain('1 of 2 busy · 2 queued');
    expect(app.byTestId('node-peer-id').textContent).toBe('12D3…NodeA1');

    chat.push({ type: 'token', text: 'Hel' });
    await expect.poll(() => answerText(app)).toBe('Hel');
    chat.push({ type: 'token', text: 'lo, ' });
    await expect.poll(() => answerText(app)).toBe('Hello,');
    chat.push({ type: 'token', text: '**world**' });
    await expect.poll(() => lastAnswer(app)?.querySelector('strong')?.textContent).toBe('world');

    chat.push({
      type: 'done',
      finishReason: 'stop',
      usage: { promptTokens: 3, completionTokens: 4 },
    });
    await expect.poll(() => app.target.querySelector('[data-testid="stop-button"]')).toBeNull();
    expect(answerText(app)).toBe('Hello, world');
    expect(lastAnswer(app)?.textContent).toContain('4 tokens');
    expect(lastAnswer(app)?.querySelector('[data-testid="finish-state"]')).toBeNull();
    // No transport once the answer is done.
    expect(app.byTestId('connection-status').textContent?.trim()).toMatch(/^online/);
    expect(app.byTestId('connection-status').textContent).not.toContain('WebRTC');

    const stored = JSON.parse(localStorage.getItem(CONVERSATIONS_STORAGE_KEY) ?? '{}');
    expect(stored.conversations[0].messages[1]).toMatchObject({
      role: 'assistant',
      content: 'Hello, **world**',
      finish: 'stop',
    });
    expect(app.all('conversation-item').map((b) => b.textContent?.trim())).toEqual(['Say hello']);
  });

  it('answers are sanitized: HTML in a streamed answer shows as text and runs nothing', async () => {
    const app = await setup();
    const chat = await send(app, 'xss please');
    chat.push(
      { type: 'node', node: NODE_A },
      { type: 'token', text: 'Here: <img src=x onerror="window.__xss=1"> ' },
      { type: 'token', text: '<script>window.__xss=2</script> [x](javascript:window.__xss=3)' },
    );
    await expect.poll(() => answerText(app)).toContain('<script>');
    chat.push({ type: 'done', finishReason: 'stop' });
    await expect.poll(() => app.target.querySelector('[data-testid="stop-button"]')).toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 150));
    const answer = lastAnswer(app);
    expect(answer?.querySelector('img, script, a')).toBeNull();
    expect(answer?.textContent).toContain('<img src=x onerror="window.__xss=1">');
    answer?.querySelector('p')?.click();
    expect(window.__xss).toBeUndefined();
  });

  it('Stop aborts the signal passed to chat() and keeps the partial answer as "stopped"', async () => {
    const app = await setup();
    const chat = await send(app, 'Count to 100');
    chat.push({ type: 'node', node: NODE_A }, { type: 'token', text: '1, 2, 3' });
    await expect.poll(() => answerText(app)).toBe('1, 2, 3');
    expect(chat.signal.aborted).toBe(false);

    app.byTestId('stop-button').click();
    flushSync();
    expect(chat.signal.aborted).toBe(true);
    expect(app.target.querySelector('[data-testid="stop-button"]')).toBeNull();
    expect(lastAnswer(app)?.querySelector('[data-testid="finish-state"]')?.textContent).toBe(
      'stopped',
    );
    expect(answerText(app)).toBe('1, 2, 3');
    expect(document.activeElement).toBe(app.prompt);
    // Late updates after Stop change nothing.
    chat.push({ type: 'token', text: ', 4' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(answerText(app)).toBe('1, 2, 3');
  });

  it('a node without a word for SLOW_NODE_MS is offered for another node: Stop, avoided, asked again', async () => {
    // The page offers it when the mesh client, stopped now, takes the node for stuck too.
    expect(SLOW_NODE_MS).toBe(ABANDONED_AFTER_MS);
    const app = await setup();
    const chat = await send(app, 'hello');
    chat.push({ type: 'node', node: NODE_A });
    await expect
      .poll(() => app.target.querySelector('[data-testid="waiting-notice"]')?.textContent)
      .toContain('Waiting for');
    expect(app.target.querySelector('[data-testid="slow-node-notice"]')).toBeNull();
    await expect
      .poll(() => app.target.querySelector('[data-testid="try-another-node"]'), {
        timeout: SLOW_NODE_MS + 3_000,
      })
      .not.toBeNull();
    const next = app.client.nextChat();
    app.byTestId('try-another-node').click();
    flushSync();
    expect(chat.signal.aborted).toBe(true);
    expect(app.client.avoided).toEqual([NODE_A.peerId]);
    const retry = await next;
    expect(retry.request.messages.at(-1)).toEqual({ role: 'user', content: 'hello' });
    retry.push(
      { type: 'node', node: NODE_B },
      { type: 'token', text: 'hi' },
      { type: 'done', finishReason: 'stop' },
    );
    await expect.poll(() => answerText(app)).toBe('hi');
    // The stopped answer was replaced, not kept beside the new one.
    expect(app.all('assistant-message')).toHaveLength(1);
    expect(document.activeElement).toBe(app.prompt);
  });

  it('a slow node that is the only one for its model is explained, with no other node to offer', async () => {
    const app = await setup();
    const select = app.byTestId<HTMLSelectElement>('model-select');
    select.value = 'big';
    select.dispatchEvent(new Event('change', { bubbles: true }));
    flushSync();
    const chat = await send(app, 'hello');
    chat.push({ type: 'node', node: NODE_A });
    await expect
      .poll(() => app.target.querySelector('[data-testid="slow-node-notice"]')?.textContent, {
        timeout: SLOW_NODE_MS + 3_000,
      })
      .toContain('a long prompt can take a while');
    expect(app.target.querySelector('[data-testid="try-another-node"]')).toBeNull();
    // The first word ends the wait, and the notice with it.
    chat.push({ type: 'token', text: 'there' });
    await expect.poll(() => answerText(app)).toBe('there');
    expect(app.target.querySelector('[data-testid="slow-node-notice"]')).toBeNull();
  });

  it('Escape stops the answer', async () => {
    const app = await setup();
    const chat = await send(app, 'long answer');
    chat.push({ type: 'token', text: 'so' });
    await expect.poll(() => answerText(app)).toBe('so');
    app.prompt.dispatchEvent(
      new KeyboardEvent('keydown', { key: 'Escape', bubbles: true, cancelable: true }),
    );
    flushSync();
    expect(chat.signal.aborted).toBe(true);
    expect(lastAnswer(app)?.textContent).toContain('stopped');
  });

  it('a retry update discards the partial text and says the node dropped', async () => {
    const app = await setup();
    const chat = await send(app, 'Tell me a story');
    chat.push({ type: 'node', node: NODE_A }, { type: 'token', text: 'Once upon a ti' });
    await expect.poll(() => answerText(app)).toBe('Once upon a ti');

    chat.push({ type: 'retry', reason: 'stream reset' });
    await expect
      .poll(() => app.target.querySelector('[data-testid="retry-notice"]')?.textContent ?? '')
      .toContain('node dropped, retrying on another node…');
    expect(lastAnswer(app)?.textContent).not.toContain('Once upon');

    chat.push({ type: 'node', node: NODE_B });
    await expect.poll(() => app.byTestId('node-fingerprint').textContent).toContain('9f9f');
    expect(app.byTestId('connection-status').textContent).toContain('relayed');
    chat.push({ type: 'token', text: 'Long ago' });
    await expect.poll(() => answerText(app)).toBe('Long ago');
    expect(app.target.querySelector('[data-testid="retry-notice"]')).toBeNull();
    chat.push({ type: 'done', finishReason: 'stop' });
    await expect.poll(() => app.target.querySelector('[data-testid="stop-button"]')).toBeNull();
    expect(answerText(app)).toBe('Long ago');
  });

  it('an error shows clearly, and Retry asks again with the same conversation', async () => {
    const app = await setup();
    const first = await send(app, 'Why is the sky blue?');
    first.push({ type: 'node', node: NODE_A }, { type: 'token', text: 'Because' });
    await expect.poll(() => answerText(app)).toBe('Because');
    first.push({ type: 'error', kind: 'node-failed', message: 'the node closed the stream' });
    await expect
      .poll(() => app.target.querySelector('[data-testid="chat-error"]')?.textContent ?? '')
      .toContain('the node closed the stream');
    expect(app.byTestId('chat-error').getAttribute('role')).toBe('alert');

    const retried = app.client.nextChat();
    app.byTestId('retry-button').click();
    const second = await retried;
    expect(second.request.messages).toEqual([{ role: 'user', content: 'Why is the sky blue?' }]);
    expect(app.all('assistant-message')).toHaveLength(1);
    expect(app.target.querySelector('[data-testid="chat-error"]')).toBeNull();
    second.push(
      { type: 'token', text: 'Rayleigh scattering.' },
      { type: 'done', finishReason: 'stop' },
    );
    await expect.poll(() => answerText(app)).toBe('Rayleigh scattering.');
  });

  it('"no nodes" from the mesh is its own clear state', async () => {
    const app = await setup();
    const chat = await send(app, 'hi');
    chat.push({ type: 'error', kind: 'no-nodes', message: 'no provider for tiny' });
    await expect
      .poll(() => app.target.querySelector('[data-testid="chat-error"]')?.textContent ?? '')
      .toContain('no nodes serve this model right now');
  });

  it('a stream that ends without "done" is reported, not passed off as complete', async () => {
    const app = await setup();
    const chat = await send(app, 'hi');
    chat.push({ type: 'token', text: 'half' });
    chat.end();
    await expect
      .poll(() => app.target.querySelector('[data-testid="chat-error"]')?.textContent ?? '')
      .toContain('cut off');
  });

  it('shows "cut at max tokens" when the answer hit the length limit', async () => {
    const app = await setup();
    const chat = await send(app, 'write a lot');
    chat.push({ type: 'token', text: 'lots' }, { type: 'done', finishReason: 'length' });
    await expect
      .poll(() => lastAnswer(app)?.querySelector('[data-testid="finish-state"]')?.textContent)
      .toBe('cut at max tokens');
  });

  it('an unverified node key gets no check mark', async () => {
    const app = await setup();
    const chat = await send(app, 'hi');
    chat.push({ type: 'node', node: { ...NODE_A, verified: false } });
    await expect.poll(() => app.byTestId('node-fingerprint').textContent).toContain('ab12');
    expect(app.byTestId('node-fingerprint').textContent).not.toContain('✓');
    expect(app.byTestId('node-panel').textContent).toContain('Not verified');
  });

  it('Regenerate replaces the last answer and sends the history without it', async () => {
    const app = await setup();
    const first = await send(app, 'first question');
    first.push({ type: 'token', text: 'answer one' }, { type: 'done', finishReason: 'stop' });
    await expect.poll(() => answerText(app)).toBe('answer one');
    const second = await send(app, 'second question');
    expect(second.request.messages).toEqual([
      { role: 'user', content: 'first question' },
      { role: 'assistant', content: 'answer one' },
      { role: 'user', content: 'second question' },
    ]);
    second.push({ type: 'token', text: 'answer two' }, { type: 'done', finishReason: 'stop' });
    await expect.poll(() => answerText(app)).toBe('answer two');

    const regenerated = app.client.nextChat();
    app.byTestId('regenerate-button').click();
    const third = await regenerated;
    expect(third.request.messages).toEqual(second.request.messages);
    third.push(
      { type: 'token', text: 'answer two, again' },
      { type: 'done', finishReason: 'stop' },
    );
    await expect.poll(() => answerText(app)).toBe('answer two, again');
    expect(app.all('assistant-message')).toHaveLength(2);
  });
});

describe('keyboard', () => {
  it('Enter sends; Shift+Enter inserts a newline', async () => {
    const app = await setup();
    await userEvent.click(app.prompt);
    await userEvent.keyboard('line one');
    await userEvent.keyboard('{Shift>}{Enter}{/Shift}');
    await userEvent.keyboard('line two');
    expect(app.prompt.value).toBe('line one\nline two');
    expect(app.client.chats).toHaveLength(0);

    const next = app.client.nextChat();
    await userEvent.keyboard('{Enter}');
    const chat = await next;
    expect(chat.request.messages).toEqual([{ role: 'user', content: 'line one\nline two' }]);
    expect(app.prompt.value).toBe('');
    expect(document.activeElement).toBe(app.prompt);
  });

  it('Enter does not send while offline, and keeps the draft', async () => {
    const app = await setup();
    app.client.setState({ kind: 'offline', bootstrap: BOOTSTRAP, reason: 'relay unreachable' });
    await userEvent.click(app.prompt);
    await userEvent.keyboard('hello{Enter}');
    expect(app.client.chats).toHaveLength(0);
    expect(app.prompt.value).toBe('hello');
  });
});

describe('conversations', () => {
  it('new chat, switch, delete one, and clear all with a confirm', async () => {
    const app = await setup();
    const a = await send(app, 'chat A');
    a.push({ type: 'token', text: 'A!' }, { type: 'done', finishReason: 'stop' });
    await expect.poll(() => answerText(app)).toBe('A!');

    app.byTestId('new-chat-button').click();
    flushSync();
    expect(app.all('assistant-message')).toHaveLength(0);
    expect(document.activeElement).toBe(app.prompt);
    const b = await send(app, 'chat B');
    b.push({ type: 'token', text: 'B!' }, { type: 'done', finishReason: 'stop' });
    await expect.poll(() => answerText(app)).toBe('B!');

    const titles = (): string[] =>
      app.all('conversation-item').map((i) => i.textContent?.trim() ?? '');
    expect(titles()).toEqual(['chat B', 'chat A']);

    app.all('conversation-item')[1]?.click();
    flushSync();
    expect(answerText(app)).toBe('A!');
    expect(app.all('conversation-item')[1]?.getAttribute('aria-current')).toBe('page');

    app.all('delete-conversation')[0]?.click(); // delete "chat B"
    flushSync();
    expect(titles()).toEqual(['chat A']);

    app.byTestId('clear-all-button').click();
    flushSync();
    const dialog = app.byTestId<HTMLDialogElement>('confirm-clear');
    expect(dialog.open).toBe(true);
    // Cancel keeps everything.
    dialog.querySelector<HTMLButtonElement>('button:not([data-testid])')?.click();
    flushSync();
    expect(dialog.open).toBe(false);
    expect(titles()).toEqual(['chat A']);

    app.byTestId('clear-all-button').click();
    flushSync();
    app.byTestId('confirm-button').click();
    flushSync();
    expect(titles()).toEqual([]);
    expect(localStorage.getItem(CONVERSATIONS_STORAGE_KEY)).toBeNull();
  });

  it('conversations survive a reload', async () => {
    const first = await setup();
    const chat = await send(first, 'remember me');
    chat.push({ type: 'token', text: 'I will.' }, { type: 'done', finishReason: 'stop' });
    await expect.poll(() => answerText(first)).toBe('I will.');
    const { component, target } = mounted.pop()!;
    await unmount(component);
    target.remove();

    const second = await setup();
    expect(second.all('conversation-item').map((i) => i.textContent?.trim())).toEqual([
      'remember me',
    ]);
    expect(answerText(second)).toBe('I will.');
    expect(second.all('user-message').map((m) => m.textContent?.trim())).toEqual(['remember me']);
  });

  it('corrupt saved chats do not break the page', async () => {
    localStorage.setItem(CONVERSATIONS_STORAGE_KEY, '{not json');
    const app = await setup();
    expect(app.all('conversation-item')).toHaveLength(0);
    expect(app.target.textContent).toContain('Saved chats could not be read');
    const chat = await send(app, 'fresh start');
    chat.push({ type: 'token', text: 'ok' }, { type: 'done', finishReason: 'stop' });
    await expect.poll(() => answerText(app)).toBe('ok');
  });
});

describe('page chrome', () => {
  it('the theme toggle flips light/dark and is remembered', async () => {
    const app = await setup();
    const before = document.documentElement.dataset.theme;
    expect(before === 'light' || before === 'dark').toBe(true);
    app.byTestId('theme-toggle').click();
    flushSync();
    const after = document.documentElement.dataset.theme;
    expect(after).toBe(before === 'dark' ? 'light' : 'dark');
    expect(localStorage.getItem(THEME_STORAGE_KEY)).toBe(after);
  });

  it('the conversation drawer opens from its toggle and Escape closes it', async () => {
    const app = await setup();
    const toggle = app.byTestId('drawer-toggle');
    expect(toggle.getAttribute('aria-expanded')).toBe('false');
    toggle.click();
    flushSync();
    expect(toggle.getAttribute('aria-expanded')).toBe('true');
    expect(app.target.querySelector('#sidebar')?.classList.contains('open')).toBe(true);
    window.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }));
    flushSync();
    expect(toggle.getAttribute('aria-expanded')).toBe('false');
    expect(document.activeElement).toBe(toggle);
  });

  it('controls have accessible names', async () => {
    const app = await setup();
    expect(app.prompt.labels?.[0]?.textContent).toBe('Message');
    expect(sendButton(app).getAttribute('aria-label')).toBe('Send');
    expect(app.byTestId('model-select').closest('label')?.textContent).toContain('Model');
  });
});
