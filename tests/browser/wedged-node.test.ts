// A node that takes a prompt and never answers it, while it answers pings — a wedged
// engine, or a node holding requests on purpose. No liveness check tells it from a node
// thinking hard, so the page waits until the user gives up: after 5 s without a word it
// offers "Try another node"; and after Stop, Regenerate asks another node, not the same
// one again. A bootstrap serving the app and a node on `demo`
// (real processes on loopback), headless Chromium, and a test peer: a real libp2p peer
// playing a node that opens requests and never answers them (a named fake: a real node's
// engine cannot be wedged on purpose), listed with more free sequences so that the page
// ranks it first.
//
// Needs `npm run build` first (the CLI in dist/ and the app in dist/browser/).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestPeer, type TestPeer } from '../bootstrap/helpers.js';
import { DEMO_ANSWER } from '../helpers/node.js';
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
  waitForAnswerDone,
  waitForModel,
  type Browser,
} from './chromium.js';

let bootstrap: BootstrapProcess;
let node: NodeProcess;
let silent: TestPeer;
let browser: Browser;

beforeAll(async () => {
  bootstrap = await startBootstrapProcess({ extraArgs: ['--log-level', 'error'] });
  node = await startNodeProcess([bootstrap.multiaddr]);
  silent = await startTestPeer({
    bootstrap: bootstrap.multiaddr,
    models: ['demo'],
    load: { maxConcurrency: 16 },
    behaviour: 'silent',
    // Dialled directly: a loopback WebSocket (the page's loopback settings allow it).
    listenWs: true,
    relay: false,
  });
  browser = await launchChromium();
});

afterAll(async () => {
  await silent?.stop();
  await closeMesh(browser, [node, bootstrap]);
});

it('after Stop on a node that held the prompt, Regenerate asks another node', async () => {
  const page = await browser.newPage();
  await page.addInitScript(() => localStorage.clear());
  await page.goto(`${bootstrap.httpUrl}/`);
  expect(await waitForModel(page, 'demo')).toMatch(/2 nodes/);

  await sendPrompt(page, 'hello');
  // The page asked the silent peer (ranked first) and waits on it.
  await eventually(() => silent.requests.length === 1, 30_000, 'the prompt at the silent peer');
  const waiting = page.locator(byTestId('waiting-notice'));
  await expect.poll(() => waiting.textContent()).toContain(silent.peerId.slice(-6));
  // Past ABANDONED_AFTER_MS (5 s) of waiting, the user gives up.
  await page.waitForTimeout(5_500);
  expect(await waiting.isVisible()).toBe(true);
  await page.locator(byTestId('stop-button')).click();
  await expect.poll(() => page.locator(byTestId('finish-state')).textContent()).toBe('stopped');

  // Regenerate goes to the node that answers, at once.
  await page.locator(`${byTestId('regenerate-button')}:not([disabled])`).click();
  await waitForAnswerDone(page, 10_000);
  const answers = page.locator(byTestId('assistant-message'));
  await expect
    .poll(async () => (await answers.last().locator('.markdown').textContent())?.trim())
    .toBe(DEMO_ANSWER);
  expect(await page.locator(byTestId('node-peer-id')).getAttribute('title')).toBe(node.peerId);
  expect(silent.requests).toHaveLength(1);
  await page.close();
});

it('"Try another node" after 5 s without a word asks another node at once', async () => {
  // A new page: its own mesh client, which has not seen the silent peer fail.
  const page = await browser.newPage();
  await page.addInitScript(() => localStorage.clear());
  await page.goto(`${bootstrap.httpUrl}/`);
  expect(await waitForModel(page, 'demo')).toMatch(/2 nodes/);
  const before = silent.requests.length;

  await sendPrompt(page, 'hello');
  await eventually(
    () => silent.requests.length === before + 1,
    30_000,
    'the prompt at the silent peer',
  );
  const offer = page.locator(byTestId('try-another-node'));
  await offer.waitFor({ timeout: 10_000 });
  await offer.click();
  await waitForAnswerDone(page, 10_000);
  const answers = page.locator(byTestId('assistant-message'));
  expect(await answers.count()).toBe(1);
  await expect
    .poll(async () => (await answers.last().locator('.markdown').textContent())?.trim())
    .toBe(DEMO_ANSWER);
  expect(await page.locator(byTestId('node-peer-id')).getAttribute('title')).toBe(node.peerId);
  expect(silent.requests).toHaveLength(before + 1);
  await page.close();
});
