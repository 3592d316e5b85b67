/**
 * Random ids for conversations and messages.
 *
 * `crypto.randomUUID()` only exists in secure contexts, and the app may be served by a
 * bootstrap node over plain HTTP on a LAN address; `getRandomValues` works everywhere.
 */
export function newId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
