/**
 * Test helper: Debian's headless Chromium driven by playwright-core (no browser
 * download), with a fresh profile, loopback WebRTC allowed and no background traffic;
 * plus small page helpers built on the app's `data-testid` hooks.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { removeTempDirs } from '../helpers/mesh.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Gather loopback ICE candidates and announce no mDNS `.local` names: loopback only.
  '--allow-loopback-in-peer-connection',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
];

export interface Browser {
  context: BrowserContext;
  /** Everything the pages printed to the console or threw (for failure messages). */
  log: string[];
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<Browser> {
  const profile = await mkdtemp(join(tmpdir(), 'tokenplace-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 800 },
  });
  const log: string[] = [];
  const watch = (page: Page): void => {
    page.on('console', (m) => log.push(`[${m.type()}] ${m.text()}`));
    page.on('pageerror', (e) => log.push(`[pageerror] ${e.message}`));
  };
  context.pages().forEach(watch);
  context.on('page', watch);
  return {
    context,
    log,
    newPage: async () => {
      const existing = context.pages().find((p) => p.url() === 'about:blank');
      return existing ?? (await context.newPage());
    },
    close: async () => {
      await context.close().catch(() => {});
      await rm(profile, { recursive: true, force: true });
    },
  };
}

export const byTestId = (id: string): string => `[data-testid="${id}"]`;

/**
 * The end of a browser suite: closes Chromium (printing what its pages logged when
 * TOKENPLACE_TEST_VERBOSE is set), stops the mesh processes and removes their folders.
 */
export async function closeMesh(
  browser: Browser | undefined,
  processes: ReadonlyArray<{ cli: { stop(): Promise<unknown> } } | undefined>,
): Promise<void> {
  if (browser != null && process.env.TOKENPLACE_TEST_VERBOSE != null) {
    console.log(browser.log.join('\n'));
  }
  await browser?.close();
  await Promise.all(processes.filter((p) => p != null).map((p) => p.cli.stop()));
  await removeTempDirs();
}

/** Waits until the connection indicator says `kind` (online, reconnecting, …). */
export async function waitForStatus(
  page: Page,
  pattern: RegExp,
  timeoutMs = 60_000,
): Promise<string> {
  const status = page.locator(byTestId('connection-status'));
  await status.filter({ hasText: pattern }).waitFor({ timeout: timeoutMs });
  return (await status.textContent()) ?? '';
}

/** Waits until the model picker lists `model` with a node count, and returns that option's text. */
export async function waitForModel(page: Page, model: string, timeoutMs = 60_000): Promise<string> {
  const handle = await page.waitForFunction(
    ([id]) => {
      const select = document.querySelector<HTMLSelectElement>('[data-testid="model-select"]');
      const option = [...(select?.options ?? [])].find((o) => o.value === id);
      return option != null && /\d+ nodes?/.test(option.text) && !option.text.includes(' 0 nodes')
        ? option.text
        : null;
    },
    [model],
    { timeout: timeoutMs, polling: 200 },
  );
  return (await handle.jsonValue()) as string;
}

/** Types a prompt and presses Send (waits until Send is enabled). */
export async function sendPrompt(page: Page, prompt: string, timeoutMs = 60_000): Promise<void> {
  await page.locator(byTestId('prompt-input')).fill(prompt);
  const send = page.locator(`${byTestId('send-button')}:not([disabled])`);
  await send.waitFor({ timeout: timeoutMs });
  await send.click();
}

/**
 * Records every distinct text of the last `assistant-message` as it changes (a
 * MutationObserver in the page), so a test can tell a streamed answer from one that
 * appeared all at once.
 */
export async function recordAnswerSnapshots(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __snapshots: string[] };
    w.__snapshots = [];
    const take = (): void => {
      const all = document.querySelectorAll('[data-testid="assistant-message"]');
      const text = all[all.length - 1]?.querySelector('.markdown')?.textContent?.trim() ?? '';
      if (text !== '' && w.__snapshots.at(-1) !== text) w.__snapshots.push(text);
    };
    new MutationObserver(take).observe(document.body, {
      subtree: true,
      childList: true,
      characterData: true,
    });
  });
}

export function answerSnapshots(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __snapshots: string[] }).__snapshots);
}

/** The text of the last answer's body (without its footer). */
export async function lastAnswerText(page: Page): Promise<string> {
  return page.evaluate(() => {
    const messages = document.querySelectorAll('[data-testid="assistant-message"]');
    const last = messages[messages.length - 1];
    return last?.querySelector('.markdown')?.textContent?.trim() ?? '';
  });
}

/** Waits until the last answer is final (its Markdown no longer busy). */
export async function waitForAnswerDone(page: Page, timeoutMs = 60_000): Promise<void> {
  await page.waitForFunction(
    () => {
      const messages = document.querySelectorAll('[data-testid="assistant-message"]');
      const last = messages[messages.length - 1];
      return last != null && last.getAttribute('aria-busy') === 'false';
    },
    undefined,
    { timeout: timeoutMs, polling: 100 },
  );
}
