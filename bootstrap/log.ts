/**
 * Log levels of `token.place bootstrap`, mapped onto namespaced `@libp2p/logger` debug
 * loggers (`tokenplace:bootstrap:*`, written to stderr). Nothing at any level logs
 * prompts, answers, ciphertext, keys or nonces: only peer ids, model ids, counts,
 * statuses and milliseconds.
 */
import { enable } from '@libp2p/logger';

export type LogLevel = 'error' | 'info' | 'debug' | 'trace';

// The patterns match every tokenplace namespace (as the node's do), so a process that
// runs several roles (`token.place start`) logs them alike whichever role configured last.
const NAMESPACES: Record<LogLevel, string> = {
  error: 'tokenplace*:error',
  info: 'tokenplace*:error',
  debug: 'tokenplace*,-tokenplace*:trace',
  trace: 'tokenplace*,libp2p*',
};

/** Enables the loggers for `level`, plus whatever `DEBUG` asks for. */
export function configureLogging(
  level: LogLevel,
  env: Readonly<Record<string, string | undefined>> = process.env,
): void {
  const extra = env.DEBUG?.trim();
  enable(extra ? `${NAMESPACES[level]},${extra}` : NAMESPACES[level]);
}
