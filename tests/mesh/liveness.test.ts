// A node that stops responding — frozen with SIGSTOP, as a machine that loses power or
// drops off the network looks to its peers: its connections stay open and nothing
// answers, not even a ping. Before the silence watch, the routing node noticed only when
// libp2p's connection monitor gave up on the connection (13.7 s mid-answer, 9.6–12.4 s
// before the first token, measured here). Real processes on loopback: a bootstrap, two
// nodes on `demo-endless` (slowed down, so an answer is still streaming when its node
// freezes) and a model-less routing node.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { TokenPlaceClient } from '../../node/client/index.js';
import {
  eventually,
  freezeProcess,
  removeTempDirs,
  slowDownProcess,
  startBootstrapProcess,
  startNodeProcess,
  type BootstrapProcess,
  type NodeProcess,
} from '../helpers/mesh.js';

/**
 * How soon a frozen node's request must fail (or fail over): a ping after 1 s of silence,
 * given 2–5 s to come back (ten of the connection's measured round trips, which a
 * slowed-down node inflates), and room for a busy machine.
 */
const NOTICED_WITHIN_MS = 7_500;
const MODEL = 'demo-endless';

let bootstrap: BootstrapProcess;
let nodes: NodeProcess[];
let router: NodeProcess;
let client: OpenAI;
/** Thaws and restores every node frozen or slowed by a test. */
const cleanups: Array<() => void> = [];

beforeAll(async () => {
  bootstrap = await startBootstrapProcess();
  nodes = await Promise.all(
    [2, 1].map((concurrency) =>
      startNodeProcess([bootstrap.multiaddr], {
        model: MODEL,
        // The first node has more free sequences: a client that knows neither ranks it first.
        extraArgs: ['--max-concurrency', String(concurrency)],
        // Peer ids and counts only: which node served a request.
        env: { DEBUG: 'tokenplace:node:mesh:handlers' },
      }),
    ),
  );
  router = await startNodeProcess([bootstrap.multiaddr], {
    model: 'none',
    env: { DEBUG: 'tokenplace:node:mesh:router' },
  });
  client = new OpenAI({ baseURL: router.apiUrl, apiKey: 'unused', maxRetries: 0, timeout: 60_000 });
  await bothListed(`${router.apiUrl}/models`, 'the routing node to see both nodes');
  await bothListed(`${bootstrap.httpUrl}/v1/models`, 'the bootstrap to list both nodes');
});

afterAll(async () => {
  cleanups.splice(0).forEach((undo) => undo());
  await Promise.all([router, ...nodes, bootstrap].map((p) => p.cli.stop()));
  await removeTempDirs();
});

/** Waits until an OpenAI `GET models` at `url` lists the model with both nodes. */
async function bothListed(url: string, what: string): Promise<void> {
  await eventually(
    async () => {
      const res = await fetch(url);
      const body = (await res.json()) as {
        data: Array<{ id: string; tokenplace: { providers: number } }>;
      };
      return body.data.some((m) => m.id === MODEL && m.tokenplace.providers === 2);
    },
    60_000,
    what,
  );
}

/** Requests each node has served (its debug log: peer ids and counts, never text). */
function served(): number[] {
  return nodes.map((n) => (n.cli.output().match(/mesh:handlers served /g) ?? []).length);
}

/** Requests each node served since `before`, once `count` in all have (a node logs it just after its answer). */
async function servedSince(before: number[], count: number): Promise<number[]> {
  const since = (): number[] => served().map((n, i) => n - before[i]!);
  await eventually(
    () => since().reduce((a, b) => a + b, 0) >= count,
    10_000,
    `${count} request(s) served`,
  );
  return since();
}

/** Both nodes slowed down; returns the function that freezes them both outright. */
function slowBoth(): () => void {
  const slowed = nodes.map((n) => slowDownProcess(n.cli.child.pid!));
  cleanups.push(() => slowed.forEach((fullSpeed) => fullSpeed()));
  return () => {
    // Full speed first (its timer would thaw the process again), then frozen.
    slowed.forEach((fullSpeed) => fullSpeed());
    for (const n of nodes) cleanups.push(freezeProcess(n.cli.child.pid!));
  };
}

function thawAll(): void {
  cleanups.splice(0).forEach((undo) => undo());
}

async function shortAnswer(openai: OpenAI): Promise<string> {
  const stream = await openai.chat.completions.create({
    model: MODEL,
    messages: [{ role: 'user', content: 'Hi' }],
    max_tokens: 8,
    stream: true,
  });
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
  return text;
}

/** Streams a long answer; freezes both nodes after its third chunk. */
async function freezeMidAnswer(
  openai: OpenAI,
): Promise<{ chunks: number; text: string; error: unknown; afterMs: number }> {
  const freeze = slowBoth();
  const stream = await openai.chat.completions.create({
    model: MODEL,
    messages: [{ role: 'user', content: 'Tell me about yourself' }],
    max_tokens: 400,
    stream: true,
  });
  let chunks = 0;
  let text = '';
  let frozenAt = 0;
  let error: unknown;
  try {
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      if (++chunks === 3) {
        freeze();
        frozenAt = Date.now();
      }
    }
  } catch (err) {
    error = err;
  }
  return { chunks, text, error, afterMs: Date.now() - frozenAt };
}

describe('a node that stops responding', () => {
  it('mid-answer: the routing node ends the stream with an OpenAI-shaped error within seconds', async () => {
    expect(await shortAnswer(client)).not.toBe('');
    const { chunks, error, afterMs } = await freezeMidAnswer(client);
    thawAll();
    expect(chunks).toBeGreaterThanOrEqual(3);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).message).toMatch(/went away mid-answer/);
    expect(afterMs).toBeLessThan(NOTICED_WITHIN_MS);
    expect(router.cli.output()).toMatch(/failed mid-answer: UnresponsiveNodeError/);
  });

  it('before the first token: the routing node fails over at once, and tries the frozen node last afterwards', async () => {
    // The node that served the last requests is the one the router picks next. (Three of
    // them: the node the test before froze and thawed may still log the answer it had.)
    let before = served();
    for (let i = 0; i < 3; i++) expect(await shortAnswer(client)).not.toBe('');
    const counts = await servedSince(before, 3);
    const frozen = counts[0]! > counts[1]! ? 0 : 1;
    const other = 1 - frozen;
    expect(counts[frozen]).toBeGreaterThanOrEqual(2);
    cleanups.push(freezeProcess(nodes[frozen]!.cli.child.pid!));

    before = served();
    let started = Date.now();
    expect(await shortAnswer(client)).not.toBe('');
    const failoverMs = Date.now() - started;
    expect((await servedSince(before, 1))[other]).toBe(1);
    expect(failoverMs).toBeLessThan(NOTICED_WITHIN_MS);
    const failures = (router.cli.output().match(/failed before answering: the node stopped/g) ?? [])
      .length;
    expect(failures).toBe(1);

    // The next requests go straight to the node that answers.
    for (let i = 0; i < 3; i++) {
      started = Date.now();
      expect(await shortAnswer(client)).not.toBe('');
      expect(Date.now() - started).toBeLessThan(2_000);
    }
    expect((await servedSince(before, 4))[other]).toBe(4);
    expect(router.cli.output().match(/failed before answering: the node stopped/g)).toHaveLength(
      failures,
    );
    thawAll();
  });

  it('before a connection: a fresh routing node dials the other node beside it and answers in seconds', async () => {
    // A routing node that has reached neither node ranks the first one first (more free
    // sequences); that one is frozen before the request.
    const fresh = await startNodeProcess([bootstrap.multiaddr], {
      model: 'none',
      env: { DEBUG: 'tokenplace:node:mesh:router' },
    });
    try {
      await bothListed(`${fresh.apiUrl}/models`, 'the fresh routing node to see both nodes');
      cleanups.push(freezeProcess(nodes[0]!.cli.child.pid!));
      const openai = new OpenAI({
        baseURL: fresh.apiUrl,
        apiKey: 'unused',
        maxRetries: 0,
        timeout: 60_000,
      });
      const before = served();
      const started = Date.now();
      expect(await shortAnswer(openai)).not.toBe('');
      const tookMs = Date.now() - started;
      expect(await servedSince(before, 1)).toEqual([0, 1]);
      // 2 s before the second dial, then a connection, the key and the answer; without it,
      // the frozen node's dial timed out first (15 s here).
      expect(tookMs).toBeLessThan(5_000);
      expect(tookMs).toBeGreaterThanOrEqual(1_900);
    } finally {
      thawAll();
      await fresh.cli.stop();
    }
  });

  it('the bootstrap drops a frozen node from its directory within seconds, and lists it again once it answers', async () => {
    const providers = async (): Promise<number> => {
      const res = await fetch(`${bootstrap.httpUrl}/v1/models`);
      const body = (await res.json()) as {
        data: Array<{ id: string; tokenplace: { providers: number } }>;
      };
      return body.data.find((m) => m.id === MODEL)?.tokenplace.providers ?? 0;
    };
    await bothListed(`${bootstrap.httpUrl}/v1/models`, 'the bootstrap to list both nodes');
    const thaw = freezeProcess(nodes[1]!.cli.child.pid!);
    cleanups.push(thaw);
    const frozenAt = Date.now();
    await eventually(async () => (await providers()) === 1, 30_000, 'the frozen node dropped');
    // A ping every 3 s, 2 s to answer; libp2p's defaults took 8–14 s here.
    expect(Date.now() - frozenAt).toBeLessThan(7_000);
    thaw();
    await bothListed(`${bootstrap.httpUrl}/v1/models`, 'the thawed node listed again');
  });

  it('mid-answer through the bootstrap gateway: plain mode ends with an error event within seconds', async () => {
    const gateway = new OpenAI({
      baseURL: `${bootstrap.httpUrl}/v1`,
      apiKey: 'unused',
      maxRetries: 0,
      timeout: 60_000,
    });
    // The gateway serves again once the node it had frozen is back.
    await eventually(async () => (await shortAnswer(gateway)) !== '', 30_000, 'a plain answer');
    const { chunks, error, afterMs } = await freezeMidAnswer(gateway);
    thawAll();
    expect(chunks).toBeGreaterThanOrEqual(3);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(afterMs).toBeLessThan(NOTICED_WITHIN_MS);
  });

  it('mid-answer through the bootstrap gateway: encrypted mode cuts the sealed stream within seconds', async () => {
    const node = nodes[0]!;
    const sealed = new TokenPlaceClient({
      baseURL: `${bootstrap.httpUrl}/nodes/${node.peerId}/v1`,
      peerId: node.peerId,
    });
    const request = {
      model: MODEL,
      messages: [{ role: 'user' as const, content: 'Tell me about yourself' }],
      max_tokens: 400,
    };
    await eventually(
      async () => {
        for await (const _ of sealed.streamChatCompletion({ ...request, max_tokens: 4 })) {
          // drain
        }
        return true;
      },
      30_000,
      'an encrypted answer',
    );
    const slowed = slowDownProcess(node.cli.child.pid!);
    cleanups.push(slowed);
    let chunks = 0;
    let frozenAt = 0;
    let error: unknown;
    try {
      for await (const _ of sealed.streamChatCompletion(request)) {
        if (++chunks === 3) {
          slowed();
          cleanups.push(freezeProcess(node.cli.child.pid!));
          frozenAt = Date.now();
        }
      }
    } catch (err) {
      error = err;
    }
    const afterMs = Date.now() - frozenAt;
    thawAll();
    expect(chunks).toBeGreaterThanOrEqual(3);
    expect((error as Error | undefined)?.name).toBe('TruncatedResponseError');
    expect(afterMs).toBeLessThan(NOTICED_WITHIN_MS);
  });
});
