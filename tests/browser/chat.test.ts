// The web chat end to end, in headless Chromium, on a real local mesh in separate
// processes on loopback: a bootstrap (which serves the built app), a node on the demo
// model and one on `demo-endless` (whose answer never ends, for Stop).
//
// Needs `npm run build` first (the CLI in dist/ and the app in dist/browser/).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { DEMO_ANSWER } from '../helpers/node.js';
import { MODEL_STORAGE_KEY } from '../../browser/src/lib/state/model-pick.js';
import {
  eventually,
  startBootstrapProcess,
  startNodeProcess,
  slowDownProcess,
  type BootstrapProcess,
  type NodeProcess,
} from '../helpers/mesh.js';
import {
  answerSnapshots,
  closeMesh,
  byTestId,
  lastAnswerText,
  launchChromium,
  recordAnswerSnapshots,
  sendPrompt,
  waitForAnswerDone,
  waitForModel,
  waitForStatus,
  type Browser,
} from './chromium.js';

const ARTIFACTS = new URL('../artifacts/', import.meta.url);
const FINGERPRINT = /HPKE key\s+([0-9a-f]{4}(?: [0-9a-f]{4}){7})/;

let bootstrap: BootstrapProcess;
let demo: NodeProcess;
let endless: NodeProcess;
let demoFingerprint: string;
let browser: Browser;

async function healthz(node: NodeProcess): Promise<{ load: { active: number } | null }> {
  const res = await fetch(new URL('/healthz', node.apiUrl));
  return (await res.json()) as { load: { active: number } | null };
}

async function openChat(): Promise<Page> {
  const page = await browser.context.newPage();
  await page.goto(`${bootstrap.httpUrl}/`);
  await waitForStatus(page, /online/);
  return page;
}

beforeAll(async () => {
  bootstrap = await startBootstrapProcess({ extraArgs: ['--log-level', 'error'] });
  [demo, endless] = await Promise.all([
    startNodeProcess([bootstrap.multiaddr]),
    // No WebRTC-direct listener: the page reaches this one by WebRTC signalled through
    // the relay, as it reaches a node behind a NAT.
    startNodeProcess([bootstrap.multiaddr], {
      model: 'demo-endless',
      extraArgs: ['--listen', '/ip4/127.0.0.1/tcp/0'],
    }),
  ]);
  demoFingerprint = (await demo.cli.waitFor(FINGERPRINT))[1]!;
  browser = await launchChromium();
  // The directory lists both nodes before any page asks.
  await eventually(
    async () => {
      const res = await fetch(`${bootstrap.httpUrl}/v1/models`);
      const ids = ((await res.json()) as { data: Array<{ id: string }> }).data.map((m) => m.id);
      return ids.includes('demo') && ids.includes('demo-endless');
    },
    60_000,
    'the directory to list demo and demo-endless',
  );
});

afterAll(() => closeMesh(browser, [endless, demo, bootstrap]));

describe('web chat on a local mesh', () => {
  it('lists the demo model, streams the answer over direct WebRTC and shows the verified key', async () => {
    const page = await openChat();
    const option = await waitForModel(page, 'demo');
    expect(option).toMatch(/^demo · 1 node$/);
    await page.locator(byTestId('model-select')).selectOption('demo');

    await recordAnswerSnapshots(page);
    await sendPrompt(page, 'Hello, who are you?');
    await waitForAnswerDone(page);
    const shown = await page.locator(byTestId('assistant-message')).last().textContent();
    expect(await lastAnswerText(page), `the answer shows: ${shown}`).toBe(DEMO_ANSWER);
    expect(await page.locator(byTestId('chat-error')).count()).toBe(0);
    let snapshots = await answerSnapshots(page);
    for (const snapshot of snapshots) expect(DEMO_ANSWER.startsWith(snapshot)).toBe(true);

    // Watch it stream. The demo node writes its 9 tokens within ~20 ms, faster than the
    // page paints (once a frame), so make the node slow, as a real model is, and ask
    // again: the frames then show the tokens arriving.
    await recordAnswerSnapshots(page);
    const fullSpeed = slowDownProcess(demo.cli.child.pid!);
    try {
      await page.locator(`${byTestId('regenerate-button')}:not([disabled])`).click();
      await waitForAnswerDone(page);
    } finally {
      fullSpeed();
    }
    expect(await lastAnswerText(page)).toBe(DEMO_ANSWER);
    snapshots = await answerSnapshots(page);
    // Streamed: parts of the answer were on screen before all of it, in order.
    expect(snapshots.length, `snapshots: ${JSON.stringify(snapshots)}`).toBeGreaterThanOrEqual(3);
    expect(snapshots.at(-1)).toBe(DEMO_ANSWER);
    for (const snapshot of snapshots) expect(DEMO_ANSWER.startsWith(snapshot)).toBe(true);
    expect(snapshots[0]!.length).toBeLessThan(DEMO_ANSWER.length);
    expect(await page.locator(byTestId('assistant-message')).count()).toBe(1);

    const fingerprint = (await page.locator(byTestId('node-fingerprint')).textContent()) ?? '';
    expect(fingerprint).toContain(demoFingerprint);
    expect(fingerprint).toContain('verified');
    expect(await page.locator(byTestId('node-transport')).textContent()).toBe('direct WebRTC');
    // The node's UDP port is reachable: one step, no relay in between.
    expect(await page.locator(byTestId('node-route')).textContent()).toContain('WebRTC-direct');
    expect(await page.locator(byTestId('node-peer-id')).getAttribute('title')).toBe(demo.peerId);

    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: new URL('chat.png', ARTIFACTS).pathname });
    await page.close();
  });

  it('sends a prompt typed at once straight to the node, whose dial goes ahead of the relay', async () => {
    const page = await browser.context.newPage();
    // The page starts on demo (reached by WebRTC-direct), whatever an earlier test picked.
    await page.addInitScript((key) => localStorage.setItem(key, 'demo'), MODEL_STORAGE_KEY);
    await page.goto(`${bootstrap.httpUrl}/`);
    await sendPrompt(page, 'Hello, who are you?'); // as soon as Send allows it
    await waitForAnswerDone(page);
    expect(await lastAnswerText(page)).toBe(DEMO_ANSWER);
    await waitForStatus(page, /online/);
    // The relay's handshake waited for the node's (they would share the main thread).
    const [node, relay] = await page.evaluate(() =>
      ['node-connected', 'relay-connected'].map(
        (step) => performance.getEntriesByName(`tokenplace:${step}`)[0]?.startTime ?? NaN,
      ),
    );
    expect(node).toBeLessThan(relay!);
    await page.close();
  });

  it('Stop ends the answer in the page and the generation on the node', async () => {
    const page = await openChat();
    await waitForModel(page, 'demo-endless');
    await page.locator(byTestId('model-select')).selectOption('demo-endless');
    await recordAnswerSnapshots(page);
    await sendPrompt(page, 'Talk forever');

    // Let some of the endless answer stream in, then press Stop.
    await page.waitForFunction(
      () => {
        const all = document.querySelectorAll('[data-testid="assistant-message"] .markdown');
        return (all[all.length - 1]?.textContent?.length ?? 0) > 80;
      },
      undefined,
      { timeout: 30_000, polling: 50 },
    );
    expect((await healthz(endless)).load?.active).toBe(1);
    // While it streams, the indicator says how the bytes travel.
    expect(await page.locator(byTestId('connection-transport')).textContent()).toContain(
      'direct WebRTC',
    );
    expect(await page.locator(byTestId('node-route')).textContent()).toContain(
      'signalled through the relay',
    );
    await page.locator(byTestId('stop-button')).click();
    // It streamed: the page showed it growing, frame after frame.
    expect((await answerSnapshots(page)).length).toBeGreaterThanOrEqual(3);

    await page.locator(byTestId('send-button')).waitFor({ timeout: 5_000 });
    await page.locator(byTestId('finish-state')).filter({ hasText: 'stopped' }).waitFor();
    const stoppedAt = await lastAnswerText(page);
    expect(stoppedAt).toMatch(/^Hello! I am a tiny test model\.( I am a tiny test model\.)+/);

    // The node stopped generating promptly: closing the stream aborted it.
    const t0 = Date.now();
    await eventually(
      async () => (await healthz(endless)).load?.active === 0,
      5_000,
      'load.active 0',
    );
    expect(Date.now() - t0).toBeLessThan(5_000);
    // And the answer stopped growing.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await lastAnswerText(page)).toBe(stoppedAt);
    await page.close();
  });

  it('renders HTML in prompts and in restored answers as text, and runs none of it', async () => {
    const payload = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>';
    const page = await browser.context.newPage();
    // Seed this origin's storage with a conversation whose answer is the payload.
    await page.goto(`${bootstrap.httpUrl}/healthz`);
    await page.evaluate((text) => {
      const now = Date.now();
      localStorage.setItem(
        'tokenplace.conversations.v1',
        JSON.stringify({
          version: 1,
          activeId: 'xss',
          conversations: [
            {
              id: 'xss',
              title: 'XSS',
              model: 'demo',
              createdAt: now,
              updatedAt: now,
              messages: [
                { id: 'u1', role: 'user', content: 'Say something nasty', createdAt: now },
                {
                  id: 'a1',
                  role: 'assistant',
                  content: text,
                  createdAt: now,
                  model: 'demo',
                  finish: 'stop',
                },
              ],
            },
          ],
        }),
      );
    }, payload);
    await page.goto(`${bootstrap.httpUrl}/`);
    await waitForStatus(page, /online/);
    await waitForModel(page, 'demo');
    await page.locator(byTestId('model-select')).selectOption('demo');

    // The restored answer shows the payload as text.
    const restored = page.locator(byTestId('assistant-message')).first();
    await expect.poll(() => restored.textContent()).toContain('<img src=x onerror=');
    expect(await restored.textContent()).toContain('<script>window.__xss=2</script>');
    expect(await restored.locator('img, script').count()).toBe(0);

    // The same payload as a prompt: shown as text, sent, answered.
    await sendPrompt(page, payload);
    const user = page.locator(byTestId('user-message')).last();
    await expect.poll(() => user.textContent()).toContain(payload);
    await waitForAnswerDone(page);
    expect(await lastAnswerText(page)).toBe(DEMO_ANSWER);

    expect(await page.locator('main img').count()).toBe(0);
    expect(
      await page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss),
    ).toBeUndefined();
    await page.close();
  });
});
