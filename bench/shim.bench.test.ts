// The OpenAI shim's cost: demo-model tokens/s in-process vs through the shim's streaming
// endpoint (side by side, interleaved, same engine), and the shim's extra time to first
// token. Targets (issue #3): ratio ≥ 0.95, extra TTFT ≤ 5 ms p50.
import { afterAll, beforeAll, test } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadNodeConfig } from '../node/config.js';
import { startNode, type RunningNode } from '../node/node.js';
import { figure, median, record } from './figures.js';

const TOKENS = 400;
const ROUNDS = 9;
let node: RunningNode;
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'tokenplace-bench-'));
  node = await startNode({ ...loadNodeConfig([], {}), dataDir, apiPort: 0, maxConcurrency: 1 });
});
afterAll(async () => {
  await node.stop();
  await rm(dataDir, { recursive: true, force: true });
});

async function inProcess(): Promise<{ tokensPerSecond: number; ttftMs: number }> {
  const t0 = performance.now();
  let first = 0;
  let tokens = 0;
  for await (const event of node.engine!.complete('a', { maxTokens: TOKENS, temperature: 0 })) {
    if (event.type === 'token') {
      if (tokens === 0) first = performance.now() - t0;
      tokens++;
    } else tokens = event.usage.completionTokens;
  }
  return { tokensPerSecond: tokens / ((performance.now() - t0) / 1000), ttftMs: first };
}

async function throughShim(): Promise<{ tokensPerSecond: number; ttftMs: number }> {
  const t0 = performance.now();
  const res = await fetch(`${node.apiUrl}/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'demo',
      prompt: 'a',
      max_tokens: TOKENS,
      temperature: 0,
      stream: true,
    }),
  });
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  let first = 0;
  let tokens = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffered += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffered.indexOf('\n\n')) !== -1) {
      const event = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      if (!event.startsWith('data: {')) continue;
      const chunk = JSON.parse(event.slice(6)) as { choices: Array<{ text: string }> };
      if (chunk.choices[0]?.text) {
        if (tokens === 0) first = performance.now() - t0;
        tokens++;
      }
    }
  }
  return { tokensPerSecond: tokens / ((performance.now() - t0) / 1000), ttftMs: first };
}

test('OpenAI shim: throughput ratio and extra time to first token', async () => {
  await inProcess();
  await throughShim();
  const local: Array<{ tokensPerSecond: number; ttftMs: number }> = [];
  const shim: Array<{ tokensPerSecond: number; ttftMs: number }> = [];
  for (let i = 0; i < ROUNDS; i++) {
    local.push(await inProcess());
    shim.push(await throughShim());
  }
  const localTps = median(local.map((r) => r.tokensPerSecond));
  const shimTps = median(shim.map((r) => r.tokensPerSecond));
  const extraTtft = median(shim.map((r) => r.ttftMs)) - median(local.map((r) => r.ttftMs));
  await record('shim', [
    figure(
      'demo model tok/s, in-process',
      localTps,
      'tok/s',
      undefined,
      `${TOKENS} tokens, median of ${ROUNDS}`,
    ),
    figure('demo model tok/s, through the shim (SSE)', shimTps, 'tok/s'),
    figure('shim / in-process tok/s', shimTps / localTps, 'ratio', { op: '>=', value: 0.95 }),
    figure('shim extra time to first token (p50)', extraTtft, 'ms', { op: '<=', value: 5 }),
  ]);
});
