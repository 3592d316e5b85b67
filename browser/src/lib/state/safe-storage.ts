/**
 * `localStorage` that never throws: it may be missing (disabled cookies, sandboxed
 * frames), reading may throw a SecurityError, and writing may hit the quota.
 */

/** The page's localStorage, or `null` where the browser refuses it. */
export function browserStorage(): Storage | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null;
  }
}

export function readItem(storage: Storage | null, key: string): string | null {
  if (storage == null) return null;
  try {
    return storage.getItem(key);
  } catch {
    return null;
  }
}

/** Returns `null` on success, or why the write failed. */
export function writeItem(storage: Storage | null, key: string, value: string): string | null {
  if (storage == null) return 'this browser does not allow local storage';
  try {
    storage.setItem(key, value);
    return null;
  } catch (err) {
    return err instanceof DOMException && err.name === 'QuotaExceededError'
      ? 'browser storage is full'
      : 'this browser refused to store it';
  }
}

export function removeItem(storage: Storage | null, key: string): void {
  try {
    storage?.removeItem(key);
  } catch {
    // Nothing to do: the item stays, and the next load tolerates it.
  }
}
