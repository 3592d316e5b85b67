/**
 * Deferred background work that never keeps a process alive (Node's timers are
 * `unref`ed; browsers have nothing to unref), and waiting that an abort cuts short.
 * Platform-neutral.
 */

/** Runs `task` after `ms`, in the background. */
export function runLater(task: () => void, ms: number): void {
  const timer: unknown = setTimeout(task, ms);
  (timer as { unref?: () => void }).unref?.();
}

/**
 * `promise`, or a rejection as soon as `signal` aborts (the work itself goes on in the
 * background; its outcome is always handled, so a failure after the abort is no
 * unhandled rejection).
 */
export function untilAborted<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (signal == null) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err as Error);
      },
    );
  });
}
