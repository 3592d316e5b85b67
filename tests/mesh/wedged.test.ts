// A node that answers pings but never its request — a wedged engine, or a node holding
// requests on purpose. No liveness check tells it from a node thinking hard, so only the
// client's own timeout ends the wait; its retry must then go to another provider, not to
// the same node again. Real processes on loopback (a bootstrap, a node on `demo`, a
// model-less routing node) and a test peer: a real libp2p peer playing a node that
// opens requests and never answers them (a named fake: a real node's engine cannot be
// wedged on purpose), listed with more free sequences so that it ranks first.
import { afterAll, beforeAll, expect, it } from 'vitest';
import OpenAI from 'openai';
import { startTestPeer, type TestPeer } from '../bootstrap/helpers.js';
import { DEMO_ANSWER } from '../helpers/node.js';
import {
  eventually,
  removeTempDirs,
  startBootstrapProcess,
  startNodeProcess,
  type BootstrapProcess,
  type NodeProcess,
} from '../helpers/mesh.js';

let bootstrap: BootstrapProcess;
let node: NodeProcess;
let router: NodeProcess;
let silent: TestPeer;

beforeAll(async () => {
  bootstrap = await startBootstrapProcess();
  [node, router] = await Promise.all([
    startNodeProcess([bootstrap.multiaddr]),
    startNodeProcess([bootstrap.multiaddr], {
      model: 'none',
      env: { DEBUG: 'tokenplace:node:mesh:router' },
    }),
  ]);
  silent = await startTestPeer({
    bootstrap: bootstrap.multiaddr,
    models: ['demo'],
    load: { maxConcurrency: 16 },
    behaviour: 'silent',
    listenWs: true,
  });
  await eventually(
    async () => {
      const res = await fetch(`${router.apiUrl}/models`);
      const body = (await res.json()) as {
        data: Array<{ id: string; tokenplace: { providers: number } }>;
      };
      return body.data.some((m) => m.id === 'demo' && m.tokenplace.providers === 2);
    },
    60_000,
    'the routing node to see both providers',
  );
});

afterAll(async () => {
  await silent?.stop();
  await Promise.all([router, node, bootstrap].map((p) => p?.cli.stop()));
  await removeTempDirs();
});

it("a client's retry after its timeout goes to another node, not the one that held the request", async () => {
  // The OpenAI client's own timeout, then its one retry: 6.5 s is past ABANDONED_AFTER_MS.
  const client = new OpenAI({
    baseURL: router.apiUrl,
    apiKey: 'unused',
    maxRetries: 1,
    timeout: 6_500,
  });
  const started = Date.now();
  const res = await client.chat.completions.create({
    model: 'demo',
    messages: [{ role: 'user', content: 'hello' }],
  });
  expect(res.choices[0]!.message.content).toBe(DEMO_ANSWER);
  // The first try waited on the silent peer until the client gave up.
  expect(Date.now() - started).toBeGreaterThanOrEqual(6_500);
  expect(silent.requests).toHaveLength(1);
  await eventually(() => silent.abortedStreams === 1, 10_000, 'the held request reset');
  expect(router.cli.output()).toMatch(
    new RegExp(`provider ${silent.peerId} held a request \\d+ ms without answering`),
  );

  // For a while, the node that held a request comes after the others: no more waits.
  const quick = new OpenAI({ baseURL: router.apiUrl, apiKey: 'unused', maxRetries: 0 });
  const again = Date.now();
  const next = await quick.chat.completions.create({
    model: 'demo',
    messages: [{ role: 'user', content: 'hello' }],
  });
  expect(next.choices[0]!.message.content).toBe(DEMO_ANSWER);
  expect(Date.now() - again).toBeLessThan(3_000);
  expect(silent.requests).toHaveLength(1);
});
