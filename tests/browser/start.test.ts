// `token.place start` (what `npm start` runs) serves the web chat, and the chat answers
// from the node it starts: one process, on loopback, driven in headless Chromium.
//
// Needs `npm run build` first (the CLI in dist/ and the app in dist/browser/).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintOf } from '../../protocol/hpke.js';
import { selectKeyRecord } from '../../protocol/records.js';
import { startCli, type CliProcess } from '../helpers/cli.js';
import { DEMO_ANSWER } from '../helpers/node.js';
import { removeTempDirs, tempDir } from '../helpers/mesh.js';
import {
  byTestId,
  lastAnswerText,
  launchChromium,
  sendPrompt,
  waitForAnswerDone,
  waitForModel,
  waitForStatus,
  type Browser,
} from './chromium.js';

let mesh: CliProcess;
let chatUrl: string;
let browser: Browser;

beforeAll(async () => {
  const dataDir = await tempDir();
  mesh = startCli([
    'start',
    '--api-port',
    '0',
    '--http-port',
    '0',
    '--p2p-port',
    '0',
    '--data-dir',
    dataDir,
    '--log-level',
    'error',
  ]);
  chatUrl = (await mesh.waitFor(/Chat\s+(http:\/\/127\.0\.0\.1:\d+\/)/, 120_000))[1]!;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await mesh?.stop();
  await removeTempDirs();
});

describe('token.place start', () => {
  it('serves the chat, which answers over direct WebRTC from the local node', async () => {
    const page = await browser.newPage();
    await page.goto(chatUrl);
    await waitForStatus(page, /online/);
    expect(await waitForModel(page, 'demo')).toBe('demo · 1 node');
    await sendPrompt(page, 'Hello from the one-command mesh');
    await waitForAnswerDone(page);
    expect(await lastAnswerText(page)).toBe(DEMO_ANSWER);
    expect(await page.locator(byTestId('node-transport')).textContent()).toBe('direct WebRTC');
    // The fingerprint shown is the node's current key, as its own API publishes it.
    const api = /OpenAI API\s+(http:\/\/127\.0\.0\.1:\d+\/v1)/.exec(mesh.output())![1]!;
    const published = (await (await fetch(`${api}/public-key`)).json()) as {
      peerId: string;
      keyRecords: unknown[];
    };
    const key = await selectKeyRecord(published.keyRecords, published.peerId);
    expect(await page.locator(byTestId('node-fingerprint')).textContent()).toContain(
      fingerprintOf(key.publicKeyBytes),
    );

    // Ctrl-C with the chat still open (its WebRTC connection to the node up) ends the
    // process by itself: exit code 0, not the helper's SIGKILL after 15 s (code null).
    expect(await mesh.stop()).toBe(0);
    expect(mesh.output()).toContain('Stopping');
    await page.close();
  });
});
