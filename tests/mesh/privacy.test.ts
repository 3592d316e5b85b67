// The relay never sees plaintext, and no role logs it: a sentinel prompt and a sentinel
// answer cross a real mesh (routing node → relayed WebRTC → provider; and the bootstrap's
// encrypted gateway) while a tap records every byte the bootstrap handles after Noise
// decryption, and every role runs at its most verbose log level.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { loadBootstrapConfig } from '../../bootstrap/config.js';
import { configureLogging } from '../../protocol/index.js';
import { startBootstrap, type RunningBootstrap } from '../../bootstrap/bootstrap.js';
import { TokenPlaceClient } from '../../node/client/index.js';
import {
  eventually,
  removeTempDirs,
  startNodeProcess,
  tempDir,
  type NodeProcess,
} from '../helpers/mesh.js';

const SENTINEL_PROMPT = 'SENTINEL-7c1e9f0a-do-not-leak k';
// The demo model continues letters from the prompt's last one: this is its answer.
const SENTINEL_ANSWER = 'lmnopqrstuvwxyzabcdefghij';
const MARKERS = [SENTINEL_PROMPT, 'SENTINEL-7c1e9f0a', SENTINEL_ANSWER, 'qrstuvwxyzabc'];

let bootstrap: RunningBootstrap;
let provider: NodeProcess;
let router: NodeProcess;
let phase: 'encrypted' | 'plain' = 'encrypted';
const seen: Buffer[] = [];
let seenBytes = 0;
const bootstrapLog: string[] = [];
const originalStderrWrite = process.stderr.write.bind(process.stderr);

beforeAll(async () => {
  // The bootstrap runs in this process, so its log (stderr) can be read back.
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    bootstrapLog.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    void rest;
    return true;
  }) as typeof process.stderr.write;
  configureLogging('trace', {});
  bootstrap = await startBootstrap(
    loadBootstrapConfig(
      [
        '--listen',
        '/ip4/127.0.0.1/tcp/0/ws',
        '--http',
        '127.0.0.1:0',
        '--allow-private-addresses',
        '--data-dir',
        await tempDir(),
        '--log-level',
        'trace',
      ],
      {},
    ),
    {
      tap: (_direction, bytes) => {
        if (phase !== 'encrypted') return;
        seen.push(Buffer.from(bytes));
        seenBytes += bytes.length;
      },
    },
  );
  const addr = bootstrap.multiaddrs.find((a) => a.includes('/ws/'))!;
  // The provider is reachable only through the relay (like a node behind a NAT), so the
  // bootstrap carries its WebRTC signalling.
  provider = await startNodeProcess([addr], {
    extraArgs: ['--listen', 'none', '--log-level', 'trace'],
  });
  router = await startNodeProcess([addr], { model: 'none', extraArgs: ['--log-level', 'trace'] });
  await eventually(
    async () => {
      const res = await fetch(`${router.apiUrl}/models`);
      return ((await res.json()) as { data: Array<{ id: string }> }).data.some(
        (m) => m.id === 'demo',
      );
    },
    30_000,
    'the router to see the provider',
  );
});

afterAll(async () => {
  await Promise.all([router, provider].filter((p) => p != null).map((p) => p.cli.stop()));
  await bootstrap?.stop();
  process.stderr.write = originalStderrWrite;
  configureLogging('error', {});
  await removeTempDirs();
});

function contains(haystack: string, needle: string): boolean {
  return haystack.includes(needle);
}

describe('what the bootstrap sees', () => {
  it('carries the mesh path (routing node → relayed WebRTC → provider) without plaintext', async () => {
    const client = new OpenAI({ baseURL: router.apiUrl, apiKey: 'x', maxRetries: 0 });
    const chat = await client.chat.completions.create({
      model: 'demo',
      messages: [{ role: 'user', content: SENTINEL_PROMPT }],
    });
    expect(chat.choices[0]!.message.content).toBe('Hello! I am a tiny test model.');
    const completion = await client.completions.create({
      model: 'demo',
      prompt: SENTINEL_PROMPT,
      max_tokens: SENTINEL_ANSWER.length,
    });
    expect(completion.choices[0]!.text).toBe(SENTINEL_ANSWER);
  });

  it('carries the gateway encrypted mode without plaintext', async () => {
    const gateway = new TokenPlaceClient({
      baseURL: `${bootstrap.httpUrl}/nodes/${provider.peerId}/v1`,
      peerId: provider.peerId,
    });
    let text = '';
    for await (const chunk of gateway.streamCompletion({
      model: 'demo',
      prompt: SENTINEL_PROMPT,
      max_tokens: SENTINEL_ANSWER.length,
    })) {
      text += chunk.choices[0]?.text ?? '';
    }
    expect(text).toBe(SENTINEL_ANSWER);
  });

  it('saw plenty of decrypted traffic, and none of it was the prompt or the answer', () => {
    const all = Buffer.concat(seen).toString('latin1');
    expect(seenBytes).toBeGreaterThan(20_000);
    // The tap really sees what Noise decrypted: protocol negotiation is in it.
    expect(all).toContain('/tokenplace/directory/1.0.0');
    expect(all).toContain('/libp2p/circuit/relay/0.2.0/hop');
    for (const marker of MARKERS) expect(contains(all, marker), marker).toBe(false);
  });
});

describe('what the logs say at the most verbose level', () => {
  it('never the prompt or the answer, in any role, even through the plain gateway', async () => {
    // Plain mode: the gateway reads the prompt by design (documented), but must not log it.
    phase = 'plain';
    const plain = new OpenAI({ baseURL: `${bootstrap.httpUrl}/v1`, apiKey: 'x', maxRetries: 0 });
    const res = await plain.completions.create({
      model: 'demo',
      prompt: SENTINEL_PROMPT,
      max_tokens: SENTINEL_ANSWER.length,
    });
    expect(res.choices[0]!.text).toBe(SENTINEL_ANSWER);
    await new Promise((r) => setTimeout(r, 500));
    const logs = {
      bootstrap: bootstrapLog.join(''),
      provider: provider.cli.output(),
      router: router.cli.output(),
    };
    for (const [role, text] of Object.entries(logs)) {
      // Trace level is really on: libp2p's own namespaces are logging.
      expect(text.length, role).toBeGreaterThan(10_000);
      expect(text, role).toMatch(/libp2p:/);
      for (const marker of MARKERS)
        expect(contains(text, marker), `${role} logged ${marker}`).toBe(false);
    }
  });
});
