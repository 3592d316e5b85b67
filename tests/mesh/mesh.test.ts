// A real local mesh in separate processes on loopback: a bootstrap, two model nodes and
// a model-less node whose OpenAI shim routes everything to the mesh.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
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
let first: NodeProcess;
let second: NodeProcess;
let router: NodeProcess;
let client: OpenAI;

interface MeshModel {
  id: string;
  tokenplace: { served_by: string; providers: number };
}

async function meshModels(): Promise<MeshModel[]> {
  const res = await fetch(`${router.apiUrl}/models`);
  return ((await res.json()) as { data: MeshModel[] }).data;
}

async function streamedAnswer(): Promise<{ text: string; chunks: number }> {
  const stream = await client.chat.completions.create({
    model: 'demo',
    messages: [{ role: 'user', content: 'Hello mesh' }],
    stream: true,
  });
  let text = '';
  let chunks = 0;
  for await (const chunk of stream) {
    const delta = chunk.choices[0]?.delta?.content;
    if (delta) {
      text += delta;
      chunks++;
    }
  }
  return { text, chunks };
}

beforeAll(async () => {
  bootstrap = await startBootstrapProcess();
  [first, second] = await Promise.all([
    startNodeProcess([bootstrap.multiaddr]),
    startNodeProcess([bootstrap.multiaddr]),
  ]);
  router = await startNodeProcess([bootstrap.multiaddr], { model: 'none' });
  client = new OpenAI({ baseURL: router.apiUrl, apiKey: 'unused', maxRetries: 0, timeout: 30_000 });
});

afterAll(async () => {
  await Promise.all(
    [router, second, first, bootstrap].filter((p) => p != null).map((p) => p.cli.stop()),
  );
  await removeTempDirs();
});

describe('local mesh', () => {
  it('the model-less node lists the mesh model, served by two peers', async () => {
    const demo = await eventually(
      async () => (await meshModels()).find((m) => m.id === 'demo' && m.tokenplace.providers === 2),
      30_000,
      'two providers of demo',
    );
    expect(demo.tokenplace.served_by).toBe('mesh');
  });

  it('lists a node that joins as soon as the directory does, not at its next rediscovery', async () => {
    const joined = await startNodeProcess([bootstrap.multiaddr], { model: 'demo-endless' });
    try {
      await eventually(
        async () => {
          const res = await fetch(`${bootstrap.httpUrl}/v1/models`);
          const models = ((await res.json()) as { data: MeshModel[] }).data;
          return models.some((m) => m.id === 'demo-endless');
        },
        30_000,
        'the directory to list the new node',
      );
      const listed = Date.now();
      // A listing re-reads the directories when the routing node's list is over 2 s old;
      // before, the new model showed at its next rediscovery, up to 15 s later.
      const endless = await eventually(
        async () => (await meshModels()).find((m) => m.id === 'demo-endless'),
        10_000,
        'the routing node to list the new node',
      );
      expect(Date.now() - listed).toBeLessThan(3_000);
      expect(endless.tokenplace).toMatchObject({ served_by: 'mesh', providers: 1 });
    } finally {
      await joined.cli.stop();
    }
  });

  it('streams completions served by a remote node through the official openai client', async () => {
    const { text, chunks } = await streamedAnswer();
    expect(text).toBe(DEMO_ANSWER);
    // The first token at once, the rest of the text in the next batch (see InferenceService).
    expect(chunks).toBeGreaterThanOrEqual(2);
    const completion = await client.completions.create({
      model: 'demo',
      prompt: 'abc',
      max_tokens: 10,
    });
    expect(completion.choices[0]!.text).toBe('defghijklm');
    expect(completion.choices[0]!.finish_reason).toBe('length');
    // The router has no model of its own: every answer above came from a remote node.
    expect(router.cli.output()).toMatch(/POST \/v1\/chat\/completions 200/);
  });

  it('keeps answering when one model node dies (fails over to the other)', async () => {
    first.cli.child.kill('SIGKILL');
    await first.cli.exited;
    for (let i = 0; i < 3; i++) {
      const { text } = await streamedAnswer();
      expect(text).toBe(DEMO_ANSWER);
    }
    const unknown = await client.chat.completions
      .create({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('heals after the bootstrap restarts, without restarting the nodes', async () => {
    const { dataDir, wsPort, httpPort, multiaddr } = bootstrap;
    expect(await bootstrap.cli.stop()).toBe(0);
    bootstrap = await startBootstrapProcess({ dataDir, wsPort, httpPort });
    expect(bootstrap.multiaddr).toBe(multiaddr);
    // The surviving model node re-joins and re-advertises: the bootstrap's directory
    // (through its OpenAI gateway's model list) sees it again.
    await eventually(
      async () => {
        const res = await fetch(`${bootstrap.httpUrl}/v1/models`);
        const models = ((await res.json()) as { data: MeshModel[] }).data;
        return models.some((m) => m.id === 'demo');
      },
      30_000,
      'the bootstrap to list demo again',
    );
    const { text } = await streamedAnswer();
    expect(text).toBe(DEMO_ANSWER);
  });
});
