// The web chat's speed, in headless Chromium (playwright-core driving Debian's
// Chromium) on a real local mesh on loopback — a bootstrap serving the built app, a node
// on `demo` and one on `demo-endless`:
// - page open → first token: navigation start to the first answer text on screen, for
//   a prompt sent the moment the page allows it, each run in a fresh browser context
//   (cold cache, new libp2p peer, new WebRTC connection); target ≤ 1 s median;
// - streamed tokens/s in the page (sealed chunks over direct WebRTC, opened and painted
//   by the app) vs the same answer from `createEngine` in this process, side by side;
//   target ratio ≥ 0.95. For reading it: the page's answers' pace as the node's engine
//   made them (from its debug log), and the page's pace ÷ that, per answer: the path's
//   own cost, apart from the node running slower beside Chromium on two shared cores.
import { afterAll, beforeAll, test } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createEngine, type Engine } from '../node/engine/index.js';
import {
  removeTempDirs,
  startBootstrapProcess,
  startNodeProcess,
  tempDir,
  type BootstrapProcess,
  type NodeProcess,
} from '../tests/helpers/mesh.js';
import { CHROMIUM, CHROMIUM_ARGS } from '../tests/browser/chromium.js';
import { figure, median, NodePace, record } from './figures.js';

const TTFT_RUNS = 11;
const TPS_ROUNDS = 7;
/**
 * Rounds of both paths before measuring: each engine's JavaScript (this process's and the
 * node's) is still being optimized for its first couple of thousand tokens.
 */
const TPS_WARMUP = 5;
/**
 * `demo-endless` never ends its answer by itself: the node stops it when the demo model's
 * 512-token context is full (the app sends no max_tokens), and so does the engine here.
 */
const PROMPT = 'Tell me about yourself';

let bootstrap: BootstrapProcess;
let demo: NodeProcess;
let endless: NodeProcess;
let engine: Engine;
let browser: Browser;
/** End offset (in characters) of each token of the endless answer, from the engine. */
let offsets: number[] = [];

beforeAll(async () => {
  bootstrap = await startBootstrapProcess({ extraArgs: ['--log-level', 'error'] });
  [demo, endless] = await Promise.all([
    startNodeProcess([bootstrap.multiaddr], { extraArgs: ['--log-level', 'error'] }),
    startNodeProcess([bootstrap.multiaddr], {
      model: 'demo-endless',
      extraArgs: ['--max-concurrency', '1', '--log-level', 'error'],
      // One line per answer, counts and times only: its engine's own pace (see below).
      env: { DEBUG: 'tokenplace:node:service' },
    }),
  ]);
  engine = await createEngine({
    model: 'demo-endless',
    dataDir: await tempDir(),
    maxConcurrency: 1,
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
  });
  // Both nodes listed before the first page asks.
  for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
    const res = await fetch(`${bootstrap.httpUrl}/v1/models`);
    const ids = ((await res.json()) as { data: Array<{ id: string }> }).data.map((m) => m.id);
    if (ids.includes('demo') && ids.includes('demo-endless')) break;
    await new Promise((r) => setTimeout(r, 250));
  }
});

afterAll(async () => {
  await browser?.close();
  await engine?.close();
  await Promise.all([endless, demo, bootstrap].filter((p) => p != null).map((p) => p.cli.stop()));
  await removeTempDirs();
});

/** In-process: tokens/s between the first and the last token of the whole answer. */
async function inProcess(): Promise<number> {
  const times: number[] = [];
  const texts: string[] = [];
  for await (const event of engine.chat([{ role: 'user', content: PROMPT }], {
    temperature: 0,
  })) {
    if (event.type === 'token') {
      times.push(performance.now());
      texts.push(event.text);
    }
  }
  if (offsets.length === 0) {
    let end = 0;
    offsets = texts.map((t) => (end += t.length));
  }
  return (times.length - 1) / ((times.at(-1)! - times[0]!) / 1000);
}

/**
 * In the page: watches the answer as it is painted, recording (time, characters), until
 * the answer is complete. Then tokens/s between the first and the last paint, tokens
 * counted with the engine's own token boundaries: every token on screen counts, so a
 * paint that brings a window's worth of tokens is credited with all of them. The page
 * itself says when the answer is done (no polling: Playwright's default `waitForFunction`
 * polls on every animation frame, which makes Chromium draw 60 frames a second: ~140 ms
 * more CPU over a 300 ms answer, taken from the node being measured).
 */
async function inPage(page: Page): Promise<number> {
  await page.locator('[data-testid="new-chat-button"]').click();
  await page.evaluate(() => {
    const w = window as unknown as { __paints: Array<[number, number]>; __answered: Promise<void> };
    w.__paints = [];
    w.__answered = new Promise((resolve) => {
      const observer = new MutationObserver(() => {
        const messages = document.querySelectorAll('[data-testid="assistant-message"]');
        const text = messages[messages.length - 1]?.querySelector('.markdown')?.textContent ?? '';
        if (text.length > 0 && text.length !== w.__paints.at(-1)?.[1]) {
          w.__paints.push([performance.now(), text.length]);
        }
        // Answered: something was painted and the composer offers Send again.
        if (
          w.__paints.length > 0 &&
          document.querySelector('[data-testid="send-button"]') != null
        ) {
          observer.disconnect();
          resolve();
        }
      });
      observer.observe(document.body, { subtree: true, childList: true, characterData: true });
    });
  });
  await page.locator('[data-testid="prompt-input"]').fill(PROMPT);
  await page.locator('[data-testid="send-button"]:not([disabled])').click();
  const paints = await page.evaluate(async () => {
    const w = window as unknown as { __paints: Array<[number, number]>; __answered: Promise<void> };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no complete answer: ${JSON.stringify(w.__paints.slice(-3))}`)),
        60_000,
      );
    });
    try {
      await Promise.race([w.__answered, late]);
    } finally {
      clearTimeout(timer);
    }
    return w.__paints;
  });
  const tokensAt = (chars: number): number => offsets.filter((end) => end <= chars).length;
  const first = paints[0]!;
  const last = paints.at(-1)!;
  // The whole answer, as the engine gives it (the page's paragraph may drop the last
  // token's trailing whitespace).
  if (tokensAt(last[1]) < offsets.length - 1) {
    throw new Error(`the page showed ${tokensAt(last[1])} of ${offsets.length} tokens`);
  }
  return (tokensAt(last[1]) - tokensAt(first[1])) / ((last[0] - first[0]) / 1000);
}

/** A fresh context opens the chat; a prompt goes out as soon as Send is enabled. */
async function pageOpenToFirstToken(): Promise<{
  firstToken: number;
  nodeConnected: number;
  sent: number;
}> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    const page = await context.newPage();
    await page.addInitScript((prompt) => {
      const w = window as unknown as { __marks: Record<string, number> };
      w.__marks = {};
      const check = (): void => {
        const marks = w.__marks;
        if (marks.sent == null) {
          const input = document.querySelector<HTMLTextAreaElement>('[data-testid="prompt-input"]');
          if (input != null && input.value === '') {
            input.value = prompt;
            input.dispatchEvent(new Event('input', { bubbles: true }));
          }
          const send = document.querySelector<HTMLButtonElement>('[data-testid="send-button"]');
          if (send != null && !send.disabled) {
            marks.sent = performance.now();
            send.click();
          }
          return;
        }
        const text =
          document.querySelector('[data-testid="assistant-message"] .markdown')?.textContent ?? '';
        if (text !== '' && marks.firstToken == null) marks.firstToken = performance.now();
      };
      new MutationObserver(check).observe(document, {
        subtree: true,
        childList: true,
        characterData: true,
        attributes: true,
      });
    }, PROMPT);
    await page.goto(`${bootstrap.httpUrl}/`);
    await page
      .waitForFunction(
        () => (window as unknown as { __marks: Record<string, number> }).__marks.firstToken != null,
        undefined,
        { timeout: 20_000, polling: 50 },
      )
      .catch(async (err: unknown) => {
        const state = await page.evaluate(() => ({
          marks: (window as unknown as { __marks: Record<string, number> }).__marks,
          status: document.querySelector('[data-testid="connection-status"]')?.textContent,
          answer: document.querySelector('[data-testid="assistant-message"]')?.textContent,
          hint: document.querySelector('#composer-hint')?.textContent,
        }));
        throw new Error(`no first token: ${JSON.stringify(state)}`, { cause: err });
      });
    const marks = await page.evaluate((): Record<string, number | undefined> => ({
      ...(window as unknown as { __marks: Record<string, number> }).__marks,
      // The app's own mark (src/lib/perf.ts): its first node connection is up.
      nodeConnected: performance.getEntriesByName('tokenplace:node-connected')[0]?.startTime,
    }));
    return {
      firstToken: marks.firstToken!,
      nodeConnected: marks.nodeConnected ?? NaN,
      sent: marks.sent!,
    };
  } finally {
    await context.close();
  }
}

/**
 * A user who takes a moment to type: the page is open and online, the picked model's
 * connection prepared; from pressing Send to the first answer text on screen.
 */
async function promptToFirstToken(): Promise<number> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    const page = await context.newPage();
    await page.goto(`${bootstrap.httpUrl}/`);
    await page.locator('[data-testid="connection-status"].online').waitFor({ timeout: 60_000 });
    await page.locator('[data-testid="prompt-input"]').fill(PROMPT);
    await page.locator('[data-testid="send-button"]:not([disabled])').waitFor({ timeout: 60_000 });
    await new Promise((r) => setTimeout(r, 2_000)); // typing
    return await page.evaluate(
      () =>
        new Promise<number>((resolve) => {
          let sent = 0;
          const observer = new MutationObserver(() => {
            const text =
              document.querySelector('[data-testid="assistant-message"] .markdown')?.textContent ??
              '';
            if (text === '') return;
            observer.disconnect();
            resolve(performance.now() - sent);
          });
          observer.observe(document.body, { subtree: true, childList: true, characterData: true });
          sent = performance.now();
          document.querySelector<HTMLButtonElement>('[data-testid="send-button"]')!.click();
        }),
    );
  } finally {
    await context.close();
  }
}

test('browser: page open → first token, and streamed tokens/s vs in-process', async () => {
  // Page open → first token, each run cold.
  await pageOpenToFirstToken(); // warm the nodes and the OS caches once
  const opens: Array<{ firstToken: number; nodeConnected: number; sent: number }> = [];
  for (let i = 0; i < TTFT_RUNS; i++) opens.push(await pageOpenToFirstToken());
  const ttft = median(opens.map((o) => o.firstToken));
  const prepared: number[] = [];
  for (let i = 0; i < TTFT_RUNS; i++) prepared.push(await promptToFirstToken());

  // Throughput, side by side: one page (its WebRTC connection stays up), alternating
  // with the in-process engine.
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${bootstrap.httpUrl}/`);
  await page
    .locator('[data-testid="model-select"] option[value="demo-endless"]')
    .waitFor({ state: 'attached', timeout: 60_000 });
  await page.locator('[data-testid="model-select"]').selectOption('demo-endless');
  // Warm-up: the connection and key record, and both engines' JIT, the same for each.
  for (let i = 0; i < TPS_WARMUP; i++) {
    await inProcess();
    await inPage(page);
  }
  const local: number[] = [];
  const web: number[] = [];
  const nodePace = new NodePace(() => endless.cli.output());
  for (let i = 0; i < TPS_ROUNDS; i++) {
    local.push(await inProcess());
    web.push(
      await nodePace.measure(
        () => inPage(page),
        (tps) => tps,
      ),
    );
  }
  await context.close();
  const localTps = median(local);
  const webTps = median(web);

  await record('browser', [
    figure(
      'page open → first token (median)',
      ttft,
      'ms',
      { op: '<=', value: 1000 },
      `headless Chromium, fresh context each run, ${TTFT_RUNS} runs; node connected at ${Math.round(median(opens.map((o) => o.nodeConnected)))} ms, sent at ${Math.round(median(opens.map((o) => o.sent)))} ms (medians); runs ${opens.map((o) => Math.round(o.firstToken)).join(', ')} ms`,
    ),
    figure(
      'Send → first token, page already open (median)',
      median(prepared),
      'ms',
      undefined,
      `the picked model's WebRTC connection and key record prepared while the user types; runs ${prepared.map((t) => Math.round(t)).join(', ')} ms`,
    ),
    figure(
      'demo-endless tok/s, in-process',
      localTps,
      'tok/s',
      undefined,
      `${offsets.length} tokens (the context's worth), median of ${TPS_ROUNDS}`,
    ),
    figure(
      'demo-endless tok/s, in the page (direct WebRTC)',
      webTps,
      'tok/s',
      undefined,
      `sealed chunks opened and painted by the app, the same answer, median of ${TPS_ROUNDS}`,
    ),
    figure('browser / in-process tok/s', webTps / localTps, 'ratio', { op: '>=', value: 0.95 }),
    ...nodePace.figures('demo-endless', 'node', 'browser', "the page's painted pace"),
  ]);
});
