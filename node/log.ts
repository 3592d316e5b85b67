/**
 * Log levels of the CLI, mapped onto namespaced `@libp2p/logger` debug loggers (written
 * to stderr). Nothing at any level logs prompts, answers, keys, nonces or ciphertext:
 * only ids, peer ids, counts and milliseconds.
 */
import { enable } from '@libp2p/logger';

export type LogLevel = 'error' | 'info' | 'debug' | 'trace';

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
