// The mesh's cost, side by side in one run, on loopback (issue #4):
// - demo-model tokens/s in-process vs through the mesh (OpenAI shim on a model-less node
//   → sealed stream → remote node), as a ratio (target ≥ 0.95), counted from the first
//   token to the last (time to first token is the next figure); end to end for reference;
// - extra time to first token over a warm mesh connection (target ≤ 10 ms p50);
// - cold discovery + connect + first token from a freshly started model-less node
//   (target ≤ 1.5 s);
// - for reading the ratio: the same mesh answers' pace as the provider's engine made them
//   (from its debug log), and the client's pace ÷ that, per answer: the path's own cost,
//   apart from the engine running slower on a machine it shares with the rest.
import { afterAll, beforeAll, test } from 'vitest';
import { Agent, request } from 'node:http';
import { createEngine, type Engine } from '../node/engine/index.js';
import {
  removeTempDirs,
  startBootstrapProcess,
  startNodeProcess,
  tempDir,
  type BootstrapProcess,
  type NodeProcess,
} from '../tests/helpers/mesh.js';
import {
  figure,
  median,
  NodePace,
  record,
  streamRun,
  throughputFigures,
  type StreamRun,
} from './figures.js';

const TOKENS = 400;
const ROUNDS = 15;
/** Rounds before measuring: the engines' JavaScript is still being optimized. */
const WARMUP = 5;
const agent = new Agent({ keepAlive: true });
let engine: Engine;
let bootstrap: BootstrapProcess;
let provider: NodeProcess;
let router: NodeProcess;

beforeAll(async () => {
  engine = await createEngine({ model: 'demo', dataDir: await tempDir(), maxConcurrency: 1 });
  bootstrap = await startBootstrapProcess({ extraArgs: ['--log-level', 'error'] });
  provider = await startNodeProcess([bootstrap.multiaddr], {
    extraArgs: ['--max-concurrency', '1', '--log-level', 'error'],
    // One line per answer, counts and times only: its engine's own pace (see below).
    env: { DEBUG: 'tokenplace:node:service' },
  });
  router = await startNodeProcess([bootstrap.multiaddr], {
    model: 'none',
    extraArgs: ['--log-level', 'error'],
  });
});

afterAll(async () => {
  await Promise.all(
    [router, provider, bootstrap].filter((p) => p != null).map((p) => p.cli.stop()),
  );
  await engine?.close();
  await removeTempDirs();
});

async function inProcess(maxTokens = TOKENS): Promise<StreamRun> {
  const t0 = performance.now();
  let first = 0;
  let tokens = 0;
  for await (const event of engine.complete('a', { maxTokens, temperature: 0 })) {
    if (event.type === 'token' && first === 0) first = performance.now() - t0;
    if (event.type === 'end') tokens = event.usage.completionTokens;
  }
  return streamRun(tokens, first, performance.now() - t0);
}

/** One streamed completion with a lean node:http client; tokens from the usage chunk. */
function stream(
  apiUrl: string,
  maxTokens = TOKENS,
  a: Agent | undefined = agent,
): Promise<StreamRun> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request(
      `${apiUrl}/completions`,
      { method: 'POST', agent: a, headers: { 'content-type': 'application/json' } },
      (res) => {
        let first = 0;
        let tail = '';
        res.setEncoding('utf8');
        res.on('data', (data: string) => {
          if (first === 0 && data.includes('"text":"')) first = performance.now() - t0;
          tail = (tail + data).slice(-2048);
        });
        res.on('end', () => {
          const usage = /"completion_tokens":(\d+)/.exec(tail);
          if (res.statusCode !== 200 || usage == null)
            return reject(new Error(`HTTP ${res.statusCode}: ${tail.slice(-300)}`));
          resolve(streamRun(Number(usage[1]), first, performance.now() - t0));
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(
      JSON.stringify({
        model: 'demo',
        prompt: 'a',
        max_tokens: maxTokens,
        temperature: 0,
        stream: true,
        stream_options: { include_usage: true },
      }),
    );
  });
}

test('mesh: throughput ratio, warm extra TTFT, cold discovery to first token', async () => {
  // Warm up every path (engine, directory lookup, WebRTC/TCP connection, key record).
  for (let i = 0; i < WARMUP; i++) {
    await inProcess();
    await stream(router.apiUrl);
  }
  const local: StreamRun[] = [];
  const mesh: StreamRun[] = [];
  const providerPace = new NodePace(() => provider.cli.output());
  const localTtft: number[] = [];
  const meshTtft: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    local.push(await inProcess());
    mesh.push(
      await providerPace.measure(
        () => stream(router.apiUrl),
        (run) => run.tokensPerSecond,
      ),
    );
    localTtft.push((await inProcess(1)).ttftMs);
    meshTtft.push((await stream(router.apiUrl, 1)).ttftMs);
  }
  const extraTtft = median(meshTtft) - median(localTtft);

  // Cold: a brand-new model-less node, its first request finds, dials and uses a provider.
  const cold: number[] = [];
  for (let i = 0; i < 3; i++) {
    const fresh = await startNodeProcess([bootstrap.multiaddr], {
      model: 'none',
      extraArgs: ['--log-level', 'error'],
    });
    try {
      cold.push((await stream(fresh.apiUrl, 1, undefined)).ttftMs);
    } finally {
      await fresh.cli.stop();
    }
  }

  await record('mesh', [
    ...throughputFigures(
      {
        name: 'mesh',
        label: 'through the mesh',
        via: 'model-less node → remote node',
      },
      TOKENS,
      local,
      mesh,
    ),
    ...providerPace.figures('demo', 'provider', 'mesh', "the client's pace"),
    figure('mesh extra time to first token, warm (p50)', extraTtft, 'ms', { op: '<=', value: 10 }),
    figure('cold discovery + connect + first token (median of 3)', median(cold), 'ms', {
      op: '<=',
      value: 1500,
    }),
  ]);
});
