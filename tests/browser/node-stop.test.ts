// A node stopped (Ctrl-C) in the middle of an answer: the page sees the answer cut at
// once, says it is retrying, and the other node of the model answers from the start. Two
// nodes on `demo-endless` (whose answer runs until the context is full) reached by
// WebRTC-direct, a bootstrap serving the app, headless Chromium; real processes on
// loopback.
//
// Needs `npm run build` first (the CLI in dist/ and the app in dist/browser/).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import {
  eventually,
  startBootstrapProcess,
  startNodeProcess,
  type BootstrapProcess,
  type NodeProcess,
} from '../helpers/mesh.js';
import {
  byTestId,
  closeMesh,
  launchChromium,
  sendPrompt,
  slowDownProcess,
  waitForAnswerDone,
  waitForModel,
  type Browser,
} from './chromium.js';

/**
 * How soon the page must show the drop. It does within 0.1–0.2 s (the node, slowed down
 * here, closes its connections, streams first, before the rest of its shutdown). Before,
 * libp2p's stop raced its WebRTC-direct listener, which closes its peer connections
 * outright, against its connection manager: in a third to a half of the stops the page
 * learned nothing until ICE gave up, ~5.5 s later (so this catches that in some runs).
 */
const DROP_SEEN_WITHIN_MS = 3_000;

let bootstrap: BootstrapProcess;
let nodes: NodeProcess[] = [];
let browser: Browser;

beforeAll(async () => {
  bootstrap = await startBootstrapProcess({ extraArgs: ['--log-level', 'error'] });
  nodes = await Promise.all(
    [0, 1].map(() =>
      startNodeProcess([bootstrap.multiaddr], {
        model: 'demo-endless',
        extraArgs: ['--max-concurrency', '1'],
      }),
    ),
  );
  browser = await launchChromium();
  await eventually(
    async () => {
      const res = await fetch(`${bootstrap.httpUrl}/v1/models`);
      const body = (await res.json()) as {
        data: Array<{ id: string; tokenplace?: { providers: number } }>;
      };
      return body.data.some((m) => m.id === 'demo-endless' && m.tokenplace?.providers === 2);
    },
    60_000,
    'the directory to list both demo-endless nodes',
  );
});

afterAll(() => closeMesh(browser, [...nodes, bootstrap]));

describe('a node stopped mid-answer', () => {
  it('cuts the answer at once, and the other node answers from the start', async () => {
    const page = await browser.newPage();
    await page.goto(`${bootstrap.httpUrl}/`);
    expect(await waitForModel(page, 'demo-endless')).toMatch(/2 nodes/);
    await page.locator(byTestId('model-select')).selectOption('demo-endless');
    // When the retry notice first shows, on the page's clock.
    await page.evaluate(() => {
      const w = window as unknown as { __retryAt?: number };
      new MutationObserver(() => {
        if (w.__retryAt == null && document.querySelector('[data-testid="retry-notice"]')) {
          w.__retryAt = performance.now();
        }
      }).observe(document.body, { subtree: true, childList: true });
    });

    // Both nodes slow, as real models are, so the answer is still streaming when its node
    // stops.
    const slowed = nodes.map((n) => slowDownProcess(n.cli.child.pid!));
    const fullSpeed = (i: number): void => {
      try {
        slowed[i]!();
      } catch {
        // It exited already.
      }
    };
    try {
      await stopMidAnswer(page, fullSpeed);
    } finally {
      slowed.forEach((_, i) => fullSpeed(i));
    }
    nodes = nodes.filter((n) => n.cli.child.exitCode == null);
    await page.close();
  });
});

async function stopMidAnswer(page: Page, fullSpeed: (i: number) => void): Promise<void> {
  await sendPrompt(page, 'Tell me about yourself');
  await page.locator(`${byTestId('assistant-message')} .markdown`).waitFor();
  const answering = await page.locator(byTestId('node-peer-id')).getAttribute('title');
  const index = nodes.findIndex((n) => n.peerId === answering);
  expect(index, `answered by ${answering}`).toBeGreaterThanOrEqual(0);
  const first = nodes[index]!;
  const other = nodes[1 - index]!;
  fullSpeed(1 - index);

  // Ctrl-C while it still runs slowly (its answer cannot finish first); full speed again
  // once the page has seen the drop, or given up waiting, for the rest of its shutdown.
  const stoppedAt = await page.evaluate(() => performance.now());
  const stopped = first.cli.stop();
  await page
    .waitForFunction(
      () => (window as unknown as { __retryAt?: number }).__retryAt != null,
      undefined,
      { timeout: 10_000, polling: 50 },
    )
    .catch(() => {});
  fullSpeed(index);
  await waitForAnswerDone(page);
  expect(await stopped).toBe(0);
  const retryAt = await page.evaluate(
    () => (window as unknown as { __retryAt?: number }).__retryAt ?? null,
  );
  expect(retryAt, 'the page said it was retrying').not.toBeNull();
  expect(retryAt! - stoppedAt).toBeLessThan(DROP_SEEN_WITHIN_MS);

  // The other node's whole answer, with no error.
  expect(await page.locator(byTestId('chat-error')).count()).toBe(0);
  const answer = page.locator(byTestId('assistant-message')).last();
  expect(await answer.locator('footer [title^="Answered by"]').getAttribute('title')).toBe(
    `Answered by ${other.peerId}`,
  );
  expect(((await answer.locator('.markdown').textContent()) ?? '').length).toBeGreaterThan(100);
}
