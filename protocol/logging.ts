/**
 * Log levels of every role's CLI, mapped onto namespaced `@libp2p/logger` debug loggers
 * (`tokenplace:<role>:…`, written to stderr). Nothing at any level logs prompts, answers,
 * keys, nonces or ciphertext: only ids, peer ids, counts, statuses and milliseconds.
 * The patterns cover every tokenplace namespace, so a process that runs several roles
 * (`token.place start`) logs them alike.
 */
import { enable } from '@libp2p/logger';

export const LOG_LEVELS = ['error', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const NAMESPACES: Record<LogLevel, string> = {
  error: 'tokenplace*:error',
  info: 'tokenplace*:error',
  debug: 'tokenplace*,-tokenplace*:trace',
  trace: 'tokenplace*,libp2p*',
};

/** Enables the loggers for `level`, plus whatever `DEBUG` in `env` asks for. */
export function configureLogging(
  level: LogLevel,
  env: Readonly<Record<string, string | undefined>>,
): void {
  const extra = env.DEBUG?.trim();
  enable(extra ? `${NAMESPACES[level]},${extra}` : NAMESPACES[level]);
}
