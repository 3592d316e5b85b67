/**
 * Deferred background work that never keeps a process alive (Node's timers are
 * `unref`ed; browsers have nothing to unref). Platform-neutral.
 */

/** Runs `task` after `ms`, in the background. */
export function runLater(task: () => void, ms: number): void {
  const timer: unknown = setTimeout(task, ms);
  (timer as { unref?: () => void }).unref?.();
}
