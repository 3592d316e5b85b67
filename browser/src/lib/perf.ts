/**
 * Marks on the browser's performance timeline (`tokenplace:<step>`), visible in DevTools'
 * Performance panel and to `performance.getEntriesByType('mark')`: how long the page took
 * to load its code, reach the relay, list the models, connect to a node and see the first
 * token. Step names only: never a prompt, an answer or a key.
 */
export function mark(step: string): void {
  globalThis.performance?.mark?.(`tokenplace:${step}`);
}
