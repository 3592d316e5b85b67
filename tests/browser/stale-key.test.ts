// The page seals its first request with the key record the bootstrap's directory
// snapshot relayed. When the node no longer holds that key (here: it restarted after the
// page loaded, with a new HPKE key under the same PeerId), the node answers
// `unknown_key`; the page must then ask the node for its current record, seal again and
// get its answer, showing the new key.
//
// The page is still connected to the old process when it sends (the browser notices a
// WebRTC peer gone only after ~6 s): the request first fails on that connection, and
// the page dials the node again.
//
// Needs `npm run build` first (the CLI in dist/ and the app in dist/browser/).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_ANSWER } from '../helpers/node.js';
import {
  eventually,
  startBootstrapProcess,
  startNodeProcess,
  tempDir,
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

const FINGERPRINT = /HPKE key\s+([0-9a-f]{4}(?: [0-9a-f]{4}){7})/;
// Reachable only through the relay (signalled WebRTC): its addresses stay the same
// across a restart, so the page's snapshot still dials it.
const NODE_ARGS = ['--listen', '/ip4/127.0.0.1/tcp/0', '--log-level', 'debug'];

let bootstrap: BootstrapProcess;
let node: NodeProcess | undefined;
let browser: Browser;
let dataDir: string;

beforeAll(async () => {
  bootstrap = await startBootstrapProcess({ extraArgs: ['--log-level', 'error'] });
  dataDir = await tempDir();
  node = await startNodeProcess([bootstrap.multiaddr], { dataDir, extraArgs: NODE_ARGS });
  browser = await launchChromium();
  await eventually(
    async () => {
      const res = await fetch(`${bootstrap.httpUrl}/bootstrap.json`);
      const info = (await res.json()) as { providers?: Array<{ keyRecords?: unknown[] }> };
      return (info.providers ?? []).some((p) => (p.keyRecords ?? []).length > 0);
    },
    60_000,
    'the snapshot to carry the node and its key record',
  );
});

afterAll(() => closeMesh(browser, [node, bootstrap]));

describe('a relayed key record the node no longer holds', () => {
  it('is replaced by the node’s own record, and the answer arrives sealed to the new key', async () => {
    const page = await browser.newPage();
    await page.goto(`${bootstrap.httpUrl}/`);
    await waitForStatus(page, /online/);
    await waitForModel(page, 'demo');

    // The node restarts: same identity (same PeerId), new HPKE key.
    // Ctrl-C ends it by itself even with the page's WebRTC connection up (exit code 0, not
    // the helper's SIGKILL after 15 s, which would also outlast the snapshot's freshness).
    const oldFingerprint = (await node!.cli.waitFor(FINGERPRINT))[1]!;
    expect(await node!.cli.stop()).toBe(0);
    node = await startNodeProcess([bootstrap.multiaddr], { dataDir, extraArgs: NODE_ARGS });
    const newFingerprint = (await node.cli.waitFor(FINGERPRINT))[1]!;
    expect(newFingerprint).not.toBe(oldFingerprint);

    // Within the snapshot's freshness: the page uses the relayed (old) record first.
    await sendPrompt(page, 'Hello after a restart');
    await waitForAnswerDone(page);
    expect(await lastAnswerText(page)).toBe(DEMO_ANSWER);
    expect(await page.locator(byTestId('chat-error')).count()).toBe(0);
    // The node refused the old key, and the page then sealed to the new one.
    await node.cli.waitFor(/unknown_key/, 5_000);
    const shown = (await page.locator(byTestId('node-fingerprint')).textContent()) ?? '';
    expect(shown).toContain(newFingerprint);
    expect(shown).toContain('verified');
    await page.close();
  });
});
