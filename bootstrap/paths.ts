/**
 * Where the bootstrap keeps its state and finds the built web app by default.
 */
import { homedir, platform } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The same platform folder the inference node uses (the identity files have different
 * names): `~/.local/share/token.place` on Linux (or `$XDG_DATA_HOME/token.place`),
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

/**
 * The built web app (`npm run build` writes it to `dist/browser/`), found relative to
 * this module so it works from the compiled `dist/bootstrap/` and from the sources
 * (tests run `bootstrap/*.ts`, whose sibling `browser/` is the app's source, not a build).
 */
export function defaultWebRoot(): string {
  const above = dirname(dirname(fileURLToPath(import.meta.url)));
  if (basename(above) === 'dist') return join(above, 'browser');
  return join(above, 'dist', 'browser');
}
