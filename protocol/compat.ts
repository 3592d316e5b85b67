/**
 * Feature-detecting compatibility shims for Node.js, loaded first by every Node entry
 * point (`bin/token.place.ts`, the role mains, the vitest setup).
 *
 * js-libp2p v3 calls `Promise.withResolvers` (Node >= 22) in core paths and dials
 * WebSockets with the global `WebSocket` (Node >= 22). Node 20 has neither, so this
 * module adds them when, and only when, they are missing. Browsers load
 * `compat.browser.ts` instead, which has no `ws` import.
 *
 * @example
 * ```ts
 * import '../protocol/compat.js'; // first import of a Node entry point
 * ```
 */
import { WebSocket as NodeWebSocket } from 'ws';

if (typeof Promise.withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers<T>(this: PromiseConstructor) {
      let resolve!: (value: T | PromiseLike<T>) => void;
      let reject!: (reason?: unknown) => void;
      const promise = new this<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}

if (typeof globalThis.WebSocket !== 'function') {
  Object.defineProperty(globalThis, 'WebSocket', {
    configurable: true,
    writable: true,
    value: NodeWebSocket,
  });
}

export {};
