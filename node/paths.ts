/** Where a node keeps its identity key, model cache and other state by default. */
import { homedir, platform } from 'node:os';
import { join } from 'node:path';

/**
 * `~/.local/share/token.place` on Linux (or `$XDG_DATA_HOME/token.place`),
 * `~/Library/Application Support/token.place` on macOS, `%LOCALAPPDATA%\token.place` on
 * Windows.
 */
export function defaultDataDir(
  env: Readonly<Record<string, string | undefined>> = process.env,
): string {
  const home = homedir();
  switch (platform()) {
    case 'darwin':
      return join(home, 'Library', 'Application Support', 'token.place');
    case 'win32':
      return join(env.LOCALAPPDATA ?? join(home, 'AppData', 'Local'), 'token.place');
    default:
      return join(env.XDG_DATA_HOME ?? join(home, '.local', 'share'), 'token.place');
  }
}
