// The relay goes away during a session and comes back: the page shows the outage and
// recovers by itself, without a reload, and answers again. Stopped and restarted, or
// frozen (SIGSTOP: a relay host that lost its network, whose connection stays open) and
// thawed. A real local mesh in separate processes on loopback, the app in headless
// Chromium.
//
// Needs `npm run build` first (the CLI in dist/ and the app in dist/browser/).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_ANSWER } from '../helpers/node.js';
import {
  eventually,
  freezeProcess,
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
  // Its mesh log (peer ids only) says when it dials its bootstrap again.
  node = await startNodeProcess([bootstrap.multiaddr], {
    env: { DEBUG: 'tokenplace:node:mesh' },
  });
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

describe('relay frozen during a session', () => {
  it('shows the outage within seconds, and recovers once the relay answers again', async () => {
    const page = await browser.newPage();
    await page.addInitScript(() => localStorage.clear());
    await page.goto(`${bootstrap.httpUrl}/`);
    await waitForStatus(page, /online/);
    await waitForModel(page, 'demo');
    const redials = (): number =>
      (node.cli.output().match(/tokenplace:node:mesh connected to bootstrap/g) ?? []).length;
    const redialsBefore = redials();
    const thaw = freezeProcess(bootstrap.cli.child.pid!);
    try {
      const frozenAt = Date.now();
      await waitForStatus(page, /reconnecting|offline/, 30_000);
      // The page pings its relay every 3 s and gives it 2 s; libp2p's defaults took 8–14 s.
      expect(Date.now() - frozenAt).toBeLessThan(7_000);
      // The node too, by the same rule: frozen 6 s in all, its connection is gone.
      await new Promise((r) => setTimeout(r, Math.max(0, frozenAt + 6_000 - Date.now())));
    } finally {
      thaw();
    }
    // The node had dropped the frozen connection: it dials its bootstrap again.
    await eventually(
      () => redials() > redialsBefore,
      15_000,
      'the node to dial its bootstrap again',
    );
    await waitForStatus(page, /online/, 60_000);
    await sendPrompt(page, 'After the freeze', 60_000);
    await waitForAnswerDone(page);
    expect(await lastAnswerText(page)).toBe(DEMO_ANSWER);
    await page.close();
  });
});
