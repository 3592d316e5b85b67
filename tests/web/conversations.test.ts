// The conversation list in localStorage: persists, reloads, survives corrupt storage.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { flushSync } from 'svelte';
import {
  CONVERSATIONS_STORAGE_KEY,
  CORRUPT_SUFFIX,
  ConversationStore,
  parseStored,
  titleFrom,
} from '../../browser/src/lib/state/conversations.svelte.js';
import type { NodeInfo } from '../../browser/src/lib/mesh/index.js';

const NODE: NodeInfo = {
  peerId: '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo',
  fingerprint: 'ab12 cd34 ef56 7890',
  verified: true,
  transport: 'direct WebRTC',
  hardware: {
    platform: 'linux',
    arch: 'arm64',
    cpus: 4,
    cpuModel: 'Cortex-A76',
    memoryBytes: 8 * 1024 ** 3,
    backend: 'cpu',
    gpu: null,
  },
  load: { active: 1, queued: 0, maxConcurrency: 2 },
};

beforeEach(() => localStorage.clear());
afterEach(() => localStorage.clear());

function seed(): ConversationStore {
  const store = new ConversationStore();
  const conversation = store.create('tiny');
  store.addMessage(conversation.id, { role: 'user', content: 'What is token.place?' });
  store.addMessage(conversation.id, {
    role: 'assistant',
    content: 'A **mesh**.',
    model: 'tiny',
    node: NODE,
    finish: 'stop',
    usage: { promptTokens: 5, completionTokens: 3 },
  });
  store.save();
  return store;
}

describe('ConversationStore', () => {
  it('starts empty with no stored value', () => {
    const store = new ConversationStore();
    expect(store.conversations).toEqual([]);
    expect(store.active).toBeNull();
    expect(store.storageProblem).toBeNull();
  });

  it('persists conversations under a versioned key and reloads them', () => {
    const first = seed();
    const id = first.activeId;
    const raw = localStorage.getItem(CONVERSATIONS_STORAGE_KEY);
    expect(CONVERSATIONS_STORAGE_KEY).toMatch(/\.v1$/);
    expect(JSON.parse(raw ?? 'null')).toMatchObject({ version: 1, activeId: id });

    const second = new ConversationStore();
    expect(second.conversations).toHaveLength(1);
    expect(second.activeId).toBe(id);
    const [user, answer] = second.active?.messages ?? [];
    expect(second.active?.title).toBe('What is token.place?');
    expect(user).toMatchObject({ role: 'user', content: 'What is token.place?' });
    expect(answer).toMatchObject({
      role: 'assistant',
      content: 'A **mesh**.',
      finish: 'stop',
      node: NODE,
      usage: { promptTokens: 5, completionTokens: 3 },
    });
  });

  it('is reactive: derived views follow mutations', () => {
    const store = new ConversationStore();
    const a = store.create('m');
    const b = store.create('m');
    flushSync();
    expect(store.active?.id).toBe(b.id);
    store.select(a.id);
    store.touch(a.id);
    flushSync();
    expect(store.active?.id).toBe(a.id);
    expect(store.sorted[0]?.id).toBe(a.id);
  });

  it('an answer still streaming when the page closed reloads as stopped', () => {
    const store = new ConversationStore();
    const c = store.create('m');
    store.addMessage(c.id, { role: 'user', content: 'hi' });
    store.addMessage(c.id, { role: 'assistant', content: 'par', model: 'm' });
    store.save();
    const reloaded = new ConversationStore();
    expect(reloaded.active?.messages[1]).toMatchObject({ content: 'par', finish: 'aborted' });
  });

  it('tolerates corrupt JSON: starts empty, keeps the bad value aside, says so', () => {
    localStorage.setItem(CONVERSATIONS_STORAGE_KEY, '{"version":1,"conversations":[{"id":');
    const store = new ConversationStore();
    expect(store.conversations).toEqual([]);
    expect(store.storageProblem).toMatch(/could not be read/);
    expect(localStorage.getItem(CONVERSATIONS_STORAGE_KEY + CORRUPT_SUFFIX)).toBe(
      '{"version":1,"conversations":[{"id":',
    );
    // And it works normally afterwards.
    const c = store.create('m');
    store.addMessage(c.id, { role: 'user', content: 'again' });
    store.save();
    expect(new ConversationStore().conversations).toHaveLength(1);
    expect(store.storageProblem).toBeNull();
  });

  it('tolerates a wrong shape or unknown version the same way', () => {
    for (const raw of [
      'null',
      '[]',
      '"text"',
      '{"version":2,"conversations":[]}',
      '{"version":1}',
    ]) {
      localStorage.clear();
      localStorage.setItem(CONVERSATIONS_STORAGE_KEY, raw);
      const store = new ConversationStore();
      expect(store.conversations, raw).toEqual([]);
      expect(store.storageProblem, raw).not.toBeNull();
    }
  });

  it('drops invalid conversations and messages one by one, keeping the rest', () => {
    const good = {
      id: 'c1',
      title: 'good',
      model: 'm',
      createdAt: 1,
      updatedAt: 2,
      messages: [
        { id: 'm1', role: 'user', content: 'hi', createdAt: 1 },
        { id: 'm2', role: 'system', content: 'injected', createdAt: 1 },
        { id: 'm3', role: 'assistant', content: 42, createdAt: 1, model: 'm' },
        {
          id: 'm4',
          role: 'assistant',
          content: 'ok',
          createdAt: 1,
          model: 'm',
          finish: 'stop',
          node: { peerId: 'p', fingerprint: 'f', verified: 'yes' },
        },
      ],
    };
    localStorage.setItem(
      CONVERSATIONS_STORAGE_KEY,
      JSON.stringify({
        version: 1,
        activeId: 'gone',
        conversations: [good, { id: 'c2' }, 'junk', null],
      }),
    );
    const store = new ConversationStore();
    expect(store.storageProblem).toBeNull();
    expect(store.conversations.map((c) => c.id)).toEqual(['c1']);
    expect(store.activeId).toBeNull();
    const messages = store.conversations[0]?.messages ?? [];
    expect(messages.map((m) => m.id)).toEqual(['m1', 'm4']);
    // A node record that does not validate is dropped, not trusted.
    expect(messages[1]).not.toHaveProperty('node');
  });

  it('deletes one conversation', () => {
    const store = seed();
    const keep = store.create('m');
    store.addMessage(keep.id, { role: 'user', content: 'keep me' });
    const drop = store.conversations.find((c) => c.id !== keep.id);
    store.remove(drop?.id ?? '');
    expect(new ConversationStore().conversations.map((c) => c.title)).toEqual(['keep me']);
  });

  it('clears all, including a kept corrupt copy', () => {
    localStorage.setItem(CONVERSATIONS_STORAGE_KEY, 'not json');
    const store = new ConversationStore();
    const c = store.create('m');
    store.addMessage(c.id, { role: 'user', content: 'x' });
    store.save();
    store.clearAll();
    expect(store.conversations).toEqual([]);
    expect(store.activeId).toBeNull();
    expect(localStorage.getItem(CONVERSATIONS_STORAGE_KEY)).toBeNull();
    expect(localStorage.getItem(CONVERSATIONS_STORAGE_KEY + CORRUPT_SUFFIX)).toBeNull();
    expect(new ConversationStore().conversations).toEqual([]);
  });

  it('reports a full storage instead of throwing', () => {
    const full: Storage = {
      length: 0,
      clear: () => {},
      getItem: () => null,
      key: () => null,
      removeItem: () => {},
      setItem: () => {
        throw new DOMException('quota', 'QuotaExceededError');
      },
    };
    const store = new ConversationStore({ storage: full });
    const c = store.create('m');
    store.addMessage(c.id, { role: 'user', content: 'x' });
    expect(() => store.save()).not.toThrow();
    expect(store.storageProblem).toMatch(/storage is full/);
  });

  it('works without any storage at all', () => {
    const store = new ConversationStore({ storage: null });
    store.create('m');
    store.save();
    expect(store.conversations).toHaveLength(1);
    expect(store.storageProblem).toMatch(/not being saved/);
  });
});

describe('helpers', () => {
  it('titleFrom collapses whitespace and shortens long prompts', () => {
    expect(titleFrom('  hello\n\nworld  ')).toBe('hello world');
    expect(titleFrom('   ')).toBe('New chat');
    const long = titleFrom('x'.repeat(200));
    expect(long.length).toBeLessThanOrEqual(60);
    expect(long.endsWith('…')).toBe(true);
  });

  it('parseStored rejects non-JSON', () => {
    expect(parseStored('{')).toBeNull();
  });
});
