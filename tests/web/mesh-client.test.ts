// The browser mesh client in Chromium, without a mesh: the pure translations it relies
// on, and its connection state machine against a bootstrap that is not there. The real
// journeys (WebRTC to a node, HPKE, Stop, relay restart) are in tests/browser/.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import {
  createLibP2PMeshClient,
  parseBootstraps,
  readDirectorySnapshot,
  type LibP2PMeshClient,
} from '../../browser/src/lib/mesh/client.js';
import type { ChatUpdate, ConnectionState } from '../../browser/src/lib/mesh/index.js';
import {
  aggregateModels,
  backoffMs,
  chatBody,
  classifyNodeError,
  readChunk,
  readResult,
  transportLabel,
} from '../../browser/src/lib/mesh/updates.js';
import type { DirectoryProvider, ModelCard } from '../../protocol/messages.js';
import { signKeyRecord, signModelCard } from '../../protocol/records.js';
import { generateHpkeKeyPair, HPKE_SUITE } from '../../protocol/hpke.js';
import { toBase64Url } from '../../protocol/bytes.js';

const PEER = '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo';
// Nothing listens there: every dial is refused at once.
const DEAD_BOOTSTRAP = `/ip4/127.0.0.1/tcp/49151/ws/p2p/${PEER}`;

function card(id: string, extra: Partial<ModelCard['model']> = {}): ModelCard {
  return {
    type: 'model-card',
    v: 1,
    peerId: PEER,
    model: {
      id,
      family: 'llama',
      parameters: 1_000_000,
      quantization: 'F32',
      contextLength: 2048,
      ggufSha256: '0'.repeat(64),
      ...extra,
    },
    load: { active: 0, queued: 0, maxConcurrency: 1 },
    hardware: {
      platform: 'linux',
      arch: 'x64',
      cpus: 2,
      cpuModel: 'cpu',
      memoryBytes: 1,
      backend: 'cpu',
      gpu: null,
    },
    issuedAt: 0,
    expiresAt: 1,
  };
}

describe('aggregateModels', () => {
  it('counts the nodes serving each model, best served first, with the card details', () => {
    const models = aggregateModels([
      { cards: [card('demo'), card('demo')] },
      {
        cards: [
          card('demo'),
          card('big', { family: '', parameters: 0, quantization: '', contextLength: 0 }),
        ],
      },
      { cards: [] },
    ]);
    expect(models).toEqual([
      {
        id: 'demo',
        nodes: 2,
        family: 'llama',
        parameters: 1_000_000,
        quantization: 'F32',
        contextLength: 2048,
      },
      { id: 'big', nodes: 1 },
    ]);
  });
});

describe('stream chunks', () => {
  it('reads deltas, finish reasons and usage, and ignores what is not there', () => {
    expect(readChunk({ choices: [{ delta: { content: 'Hel' }, finish_reason: null }] })).toEqual({
      text: 'Hel',
      finishReason: null,
      usage: null,
    });
    expect(readChunk({ choices: [{ delta: {}, finish_reason: 'length' }] }).finishReason).toBe(
      'length',
    );
    expect(readChunk({ choices: [{ delta: {}, finish_reason: 'stop' }] }).finishReason).toBe(
      'stop',
    );
    expect(
      readChunk({
        choices: [],
        usage: { prompt_tokens: 3, completion_tokens: 9, total_tokens: 12 },
      }).usage,
    ).toEqual({ promptTokens: 3, completionTokens: 9 });
    for (const junk of [
      {},
      { choices: 'x' },
      { choices: [null] },
      { choices: [{ delta: { content: 7 } }] },
    ]) {
      expect(readChunk(junk)).toEqual({ text: '', finishReason: null, usage: null });
    }
    expect(
      readResult({
        choices: [{ message: { role: 'assistant', content: 'Hi.' }, finish_reason: 'length' }],
      }),
    ).toEqual({ text: 'Hi.', finishReason: 'length', usage: null });
  });

  it('asks for a stream with usage, and passes only the options that are set', () => {
    expect(chatBody({ model: 'demo', messages: [{ role: 'user', content: 'hi' }] })).toEqual({
      model: 'demo',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(chatBody({ model: 'demo', messages: [], temperature: 0, maxTokens: 5 })).toMatchObject({
      temperature: 0,
      max_tokens: 5,
    });
  });

  it('moves on from busy or failing nodes, and reports bad requests', () => {
    expect(classifyNodeError(429)).toEqual({ action: 'next' });
    expect(classifyNodeError(503)).toEqual({ action: 'next' });
    expect(classifyNodeError(404)).toEqual({ action: 'next' });
    expect(classifyNodeError(400)).toEqual({ action: 'report', kind: 'bad-request' });
    expect(classifyNodeError(413)).toEqual({ action: 'report', kind: 'bad-request' });
  });

  it('names transports the way the node panel does', () => {
    expect(transportLabel('direct WebRTC')).toBe('direct WebRTC');
    expect(transportLabel('relayed')).toBe('relayed');
    expect(transportLabel('WebSocket')).toBe('WebSocket');
  });
});

describe('backoffMs', () => {
  it('doubles from 0.5 s to a cap, with jitter, and is slow once offline', () => {
    const mid = (): number => 0.5;
    expect([1, 2, 3, 4, 5, 6, 10].map((n) => backoffMs(n, false, {}, mid))).toEqual([
      500, 1000, 2000, 4000, 8000, 8000, 8000,
    ]);
    expect(backoffMs(1, true, {}, mid)).toBe(30_000);
    expect(backoffMs(1, false, {}, () => 0)).toBe(400);
    expect(backoffMs(1, false, {}, () => 1)).toBe(600);
    expect(backoffMs(3, false, { initialMs: 10, maxMs: 25, jitter: 0 })).toBe(25);
  });
});

describe('the client without a reachable bootstrap', () => {
  let client: LibP2PMeshClient | undefined;
  afterEach(async () => {
    await client?.close();
    client = undefined;
  });

  it('parses bootstraps and insists on a peer id', () => {
    expect(parseBootstraps([DEAD_BOOTSTRAP])[0]!.peerId.toString()).toBe(PEER);
    expect(() => parseBootstraps(['/ip4/127.0.0.1/tcp/1/ws'])).toThrow(/\/p2p\/<peer id>/);
    expect(() => parseBootstraps(['not a multiaddr'])).toThrow(/not a multiaddr/);
  });

  it('goes connecting → reconnecting (counting attempts) → offline, and keeps trying', async () => {
    client = await createLibP2PMeshClient({
      bootstrap: [DEAD_BOOTSTRAP],
      allowPrivateAddresses: true,
      backoff: { initialMs: 20, maxMs: 40, offlineMs: 50, jitter: 0 },
      offlineAfterMs: 400,
    });
    const states: ConnectionState[] = [];
    client.subscribe((state) => states.push(state));
    expect(states[0]?.kind).toBe('connecting');
    await expect
      .poll(() => states.filter((s) => s.kind === 'reconnecting').length)
      .toBeGreaterThanOrEqual(3);
    const reconnecting = states.filter((s) => s.kind === 'reconnecting');
    expect(reconnecting.map((s) => s.attempt).slice(0, 3)).toEqual([1, 2, 3]);
    expect(reconnecting[0]!.lastError).not.toBe('');
    await expect.poll(() => client!.state.kind, { timeout: 5_000 }).toBe('offline');
    // Offline, it still dials now and then (every `offlineMs` here).
    const libp2p = client.libp2p;
    const dial = libp2p.dial.bind(libp2p);
    let dials = 0;
    libp2p.dial = ((...args: Parameters<typeof dial>) => {
      dials += 1;
      return dial(...args);
    }) as typeof libp2p.dial;
    await expect.poll(() => dials, { timeout: 5_000 }).toBeGreaterThanOrEqual(2);
    expect(client.state).toMatchObject({ kind: 'offline', bootstrap: DEAD_BOOTSTRAP });
  });

  it('cannot list models, and a chat says it is offline', async () => {
    client = await createLibP2PMeshClient({
      bootstrap: [DEAD_BOOTSTRAP],
      allowPrivateAddresses: true,
      backoff: { initialMs: 1_000, jitter: 0 },
    });
    await expect(client.listModels()).rejects.toMatchObject({ name: 'MeshOfflineError' });
    const updates: ChatUpdate[] = [];
    const controller = new AbortController();
    for await (const update of client.chat(
      { model: 'demo', messages: [{ role: 'user', content: 'hi' }] },
      { signal: controller.signal },
    )) {
      updates.push(update);
    }
    expect(updates).toEqual([
      { type: 'error', kind: 'offline', message: expect.stringMatching(/Not connected/) },
    ]);

    const bad: ChatUpdate[] = [];
    for await (const update of client.chat(
      { model: 'demo', messages: [] },
      { signal: controller.signal },
    )) {
      bad.push(update);
    }
    expect(bad).toEqual([{ type: 'error', kind: 'bad-request', message: expect.any(String) }]);
  });

  it('close() stops reconnecting and the state stays put', async () => {
    client = await createLibP2PMeshClient({
      bootstrap: [DEAD_BOOTSTRAP],
      allowPrivateAddresses: true,
      backoff: { initialMs: 10, maxMs: 10, jitter: 0 },
    });
    await expect.poll(() => client!.state.kind).toBe('reconnecting');
    await client.close();
    const frozen = client.state;
    await new Promise((r) => setTimeout(r, 100));
    expect(client.state).toBe(frozen);
    expect(client.libp2p.status).toBe('stopped');
  });
});

/** Every address or peer the client's libp2p dials from now on, as text. */
function recordDials(client: LibP2PMeshClient): string[] {
  const dialled: string[] = [];
  const dial = client.libp2p.dial.bind(client.libp2p);
  client.libp2p.dial = ((...args: Parameters<typeof dial>) => {
    dialled.push(String(args[0]));
    return dial(...args);
  }) as typeof client.libp2p.dial;
  return dialled;
}

/** A node's snapshot entry as a bootstrap serves it: its own signed card and key record. */
async function snapshotEntry(
  model: string,
  port: number,
  addrs?: (peerId: string) => string[],
): Promise<DirectoryProvider> {
  const key = await generateKeyPair('Ed25519');
  const peerId = peerIdFromPrivateKey(key).toString();
  const now = Date.now();
  const hpke = await generateHpkeKeyPair();
  return {
    peerId,
    // Nothing listens there either: a dial fails at once, but it is attempted.
    addrs: addrs?.(peerId) ?? [`/ip4/127.0.0.1/tcp/${port}/ws`],
    cards: [
      await signModelCard(key, {
        ...card(model),
        peerId,
        issuedAt: now - 1_000,
        expiresAt: now + 60_000,
      }),
    ],
    keyRecords: [
      await signKeyRecord(key, {
        type: 'key-record',
        v: 1,
        peerId,
        keyId: hpke.keyId,
        suite: { ...HPKE_SUITE },
        publicKey: toBase64Url(hpke.publicKey),
        notBefore: now - 1_000,
        notAfter: now + 3_600_000,
      }),
    ],
  };
}

describe("the bootstrap's directory snapshot", () => {
  let client: LibP2PMeshClient | undefined;
  afterEach(async () => {
    await client?.close();
    client = undefined;
  });

  it('keeps what verifies: cards and key records against each PeerId, forgeries dropped', async () => {
    const honest = await snapshotEntry('demo', 49152);
    const other = await snapshotEntry('evil', 49153);
    // A bootstrap that pins another node's card (and key) on a PeerId.
    const forged = { ...other, peerId: honest.peerId };
    const noKey = await snapshotEntry('plain', 49154);
    delete noKey.keyRecords;
    const providers = await readDirectorySnapshot([honest, forged, noKey]);
    expect(providers.map((p) => [p.peerId, p.cards.map((c) => c.model.id)])).toEqual([
      [honest.peerId, ['demo']],
      [noKey.peerId, ['plain']],
    ]);
    expect(providers[0]!.key?.peerId).toBe(honest.peerId);
    expect(providers[1]!.key).toBeUndefined();
    // Not a snapshot at all: ignored, as if the bootstrap had sent none.
    expect(await readDirectorySnapshot({ providers: 'nope' })).toEqual([]);
    expect(await readDirectorySnapshot(undefined)).toEqual([]);
  });

  it('lists its models before the relay answers, and prepare() dials a provider at once', async () => {
    const entry = await snapshotEntry('demo', 49155);
    client = await createLibP2PMeshClient({
      bootstrap: [DEAD_BOOTSTRAP],
      allowPrivateAddresses: true,
      backoff: { initialMs: 10_000, jitter: 0 },
      directory: [entry],
    });
    expect(client.state.kind).not.toBe('online');
    expect(client.knownModels()).toEqual([expect.objectContaining({ id: 'demo', nodes: 1 })]);
    const dialled = recordDials(client);
    client.prepare('demo');
    await expect.poll(() => dialled.join(' ')).toContain(entry.peerId);
  });

  it('while offline, prepare() dials nobody once the snapshot is no longer fresh', async () => {
    const entry = await snapshotEntry('demo', 49156);
    client = await createLibP2PMeshClient({
      bootstrap: [DEAD_BOOTSTRAP],
      allowPrivateAddresses: true,
      backoff: { initialMs: 10_000, jitter: 0 },
      directory: [entry],
    });
    const dialled = recordDials(client);
    // 20 s later (the snapshot counts as fresh for 15 s), still without the relay.
    const now = Date.now();
    const clock = vi.spyOn(Date, 'now').mockReturnValue(now + 20_000);
    try {
      expect(client.knownModels()).toEqual([]);
      client.prepare('demo');
    } finally {
      clock.mockRestore();
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(dialled.filter((d) => d.includes(entry.peerId))).toEqual([]);
  });
});

describe('start-up: the first node before the relay', () => {
  let client: LibP2PMeshClient | undefined;
  afterEach(async () => {
    await client?.close();
    client = undefined;
  });

  /** Starts a client on the dead bootstrap that prepares `entry`'s model at once. */
  async function start(entry: DirectoryProvider, relayHoldMs: number): Promise<string[][]> {
    const offered: string[][] = [];
    client = await createLibP2PMeshClient({
      bootstrap: [DEAD_BOOTSTRAP],
      allowPrivateAddresses: true,
      backoff: { initialMs: 10_000, jitter: 0 },
      directory: [entry],
      prepare: (known) => {
        offered.push(known.map((m) => m.id));
        return known[0]?.id ?? null;
      },
      relayHoldMs,
    });
    return offered;
  }

  // The dead bootstrap refuses at once: `reconnecting` shows as soon as it was dialled.
  it("holds the relay dial while the first model's node is dialled directly, up to relayHoldMs", async () => {
    // WebRTC-direct to a UDP port nobody answers on: the dial hangs (ICE gets no reply).
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new Uint8Array([1])));
    const certhash = `u${toBase64Url(new Uint8Array([0x12, 0x20, ...digest]))}`; // a multihash
    const entry = await snapshotEntry('demo', 0, () => [
      `/ip4/127.0.0.1/udp/49157/webrtc-direct/certhash/${certhash}`,
    ]);
    const started = performance.now();
    const offered = await start(entry, 1_500);
    expect(offered).toEqual([['demo']]);
    await new Promise((r) => setTimeout(r, 700));
    expect(client!.state.kind).toBe('connecting');
    await expect.poll(() => client!.state.kind, { timeout: 5_000 }).toBe('reconnecting');
    expect(performance.now() - started).toBeGreaterThanOrEqual(1_500);
  });

  it('dials the relay once that node dial fails, or at once when the node needs the relay', async () => {
    // A direct address that refuses at once: the hold ends with the failed dial.
    await start(await snapshotEntry('demo', 49158), 60_000);
    await expect.poll(() => client!.state.kind, { timeout: 10_000 }).toBe('reconnecting');
    await client!.close();
    // Reachable only through a relay: nothing to hold for.
    await start(
      await snapshotEntry('demo', 0, (peerId) => [`${DEAD_BOOTSTRAP}/p2p-circuit/p2p/${peerId}`]),
      60_000,
    );
    await expect.poll(() => client!.state.kind, { timeout: 10_000 }).toBe('reconnecting');
  });
});
