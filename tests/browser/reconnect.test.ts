// The relay goes away during a session and comes back: the page shows the outage and
// recovers by itself, without a reload, and answers again. A real local mesh in separate
// processes on loopback, the app in headless Chromium.
//
// Needs `npm run build` first (the CLI in dist/ and the app in dist/browser/).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_ANSWER } from '../helpers/node.js';
import {
  startBootstrapProcess,
  startNodeProcess,
  type BootstrapProcess,
  type NodeProcess,
} from '../helpers/mesh.js';
import {
  byTestId,
  closeMesh,
  lastAnswerText,
  launchChromium,
  sendPrompt,
  waitForAnswerDone,
  waitForModel,
  waitForStatus,
  type Browser,
} from './chromium.js';

let bootstrap: BootstrapProcess;
let node: NodeProcess;
let browser: Browser;

beforeAll(async () => {
  bootstrap = await startBootstrapProcess({ extraArgs: ['--log-level', 'error'] });
  node = await startNodeProcess([bootstrap.multiaddr]);
  browser = await launchChromium();
});

afterAll(() => closeMesh(browser, [node, bootstrap]));

describe('relay restart during a session', () => {
  it('shows the outage, reconnects by itself and answers again, without a reload', async () => {
    const page = await browser.newPage();
    await page.goto(`${bootstrap.httpUrl}/`);
    await waitForStatus(page, /online/);
    await waitForModel(page, 'demo');
    await sendPrompt(page, 'Before the outage');
    await waitForAnswerDone(page);
    expect(await lastAnswerText(page)).toBe(DEMO_ANSWER);
    // A marker that a reload would wipe.
    await page.evaluate(
      () => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true),
    );

    // Stop the bootstrap (relay, directory, the page's own server) …
    const { dataDir, wsPort, httpPort, multiaddr } = bootstrap;
    expect(await bootstrap.cli.stop()).toBe(0);
    const outage = await waitForStatus(page, /reconnecting|offline/, 30_000);
    expect(outage).toMatch(/reconnecting|offline/);
    await page.locator(byTestId('relay-notice')).waitFor({ timeout: 10_000 });
    expect(await page.locator(`${byTestId('send-button')}[disabled]`).count()).toBe(1);

    // … and start it again on the same ports and data dir: the same PeerId.
    bootstrap = await startBootstrapProcess({
      dataDir,
      wsPort,
      httpPort,
      extraArgs: ['--log-level', 'error'],
    });
    expect(bootstrap.multiaddr).toBe(multiaddr);
    const t0 = Date.now();
    await waitForStatus(page, /online/, 60_000);
    const recoveredMs = Date.now() - t0;
    expect(await page.locator(byTestId('relay-notice')).count()).toBe(0);
    expect(
      await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument),
    ).toBe(true);

    // A new prompt is answered.
    await sendPrompt(page, 'After the outage', 60_000);
    await waitForAnswerDone(page);
    expect(await lastAnswerText(page)).toBe(DEMO_ANSWER);
    expect(await page.locator(byTestId('node-transport')).textContent()).toBe('direct WebRTC');
    console.log(`reconnected ${recoveredMs} ms after the bootstrap was back`);
    await page.close();
  });
});
