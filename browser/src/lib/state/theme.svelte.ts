/**
 * Light and dark. Follows the system (`prefers-color-scheme`) until the user flips the
 * toggle; the choice is remembered. The effective theme is written to
 * `<html data-theme>` for the CSS.
 */
import { browserStorage, readItem, writeItem } from './safe-storage.js';

export const THEME_STORAGE_KEY = 'tokenplace.theme.v1';

export type Theme = 'light' | 'dark';
export type ThemePreference = Theme | 'system';

export interface ThemeStoreOptions {
  /** @default the page's localStorage */
  storage?: Storage | null;
  /** @default document.documentElement */
  root?: HTMLElement | null;
}

export class ThemeStore {
  preference = $state<ThemePreference>('system');
  systemDark = $state(false);
  readonly effective: Theme = $derived(
    this.preference === 'system' ? (this.systemDark ? 'dark' : 'light') : this.preference,
  );

  readonly #storage: Storage | null;
  readonly #root: HTMLElement | null;
  readonly #media: MediaQueryList | null;
  readonly #onMediaChange = (event: MediaQueryListEvent): void => {
    this.systemDark = event.matches;
    this.apply();
  };

  constructor(options: ThemeStoreOptions = {}) {
    this.#storage = options.storage === undefined ? browserStorage() : options.storage;
    this.#root =
      options.root === undefined
        ? typeof document === 'undefined'
          ? null
          : document.documentElement
        : options.root;
    const stored = readItem(this.#storage, THEME_STORAGE_KEY);
    if (stored === 'light' || stored === 'dark') this.preference = stored;
    this.#media =
      typeof matchMedia === 'function' ? matchMedia('(prefers-color-scheme: dark)') : null;
    this.systemDark = this.#media?.matches ?? false;
    this.#media?.addEventListener('change', this.#onMediaChange);
    this.apply();
  }

  /** Switches to the other theme and remembers it. */
  toggle(): void {
    this.preference = this.effective === 'dark' ? 'light' : 'dark';
    writeItem(this.#storage, THEME_STORAGE_KEY, this.preference);
    this.apply();
  }

  apply(): void {
    if (this.#root == null) return;
    this.#root.dataset.theme = this.effective;
    this.#root.style.colorScheme = this.effective;
  }

  destroy(): void {
    this.#media?.removeEventListener('change', this.#onMediaChange);
  }
}
