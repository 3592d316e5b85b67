/**
 * Static hosting of the built web chat (`dist/browser/`): correct content types, long
 * caching for Vite's hashed `assets/`, a single-page-app fallback to `index.html` for
 * extensionless paths, and — when the app has not been built — a small page that says
 * how to build it.
 */
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import type { Context } from 'hono';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
};

export const NOT_BUILT_HTML = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>token.place — web app not built</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; line-height: 1.5">
<h1>token.place</h1>
<p>This bootstrap node is running, but the web chat has not been built.</p>
<p>Build it in the token.place checkout, then reload this page:</p>
<pre><code>npm run build</code></pre>
<p>Or point the bootstrap at a built copy with <code>--web-root &lt;dir&gt;</code>.
The OpenAI gateway (<a href="v1/models">v1/models</a>), <a href="healthz">healthz</a>
and <a href="metrics">metrics</a> work without it.</p>
</body>
</html>
`;

async function fileIn(root: string, path: string): Promise<string | undefined> {
  const file = resolve(root, `.${sep}${normalize(path)}`);
  if (file !== root && !file.startsWith(root + sep)) return undefined;
  try {
    const info = await stat(file);
    if (info.isFile()) return file;
    if (info.isDirectory()) {
      const index = join(file, 'index.html');
      if ((await stat(index)).isFile()) return index;
    }
  } catch {
    // missing
  }
  return undefined;
}

/** A handler for GET/HEAD that serves `root` (resolved once, at creation). */
export function webApp(root: string): (c: Context) => Promise<Response> {
  const base = resolve(root);
  return async (c) => {
    let path: string;
    try {
      path = decodeURIComponent(c.req.path);
    } catch {
      return c.text('Bad Request', 400);
    }
    if (path.includes('\0')) return c.text('Bad Request', 400);
    let file = await fileIn(base, path);
    const navigation = extname(path) === '' || extname(path) === '.html';
    if (file == null && navigation) file = await fileIn(base, 'index.html');
    if (file == null) {
      return navigation
        ? c.html(NOT_BUILT_HTML, 200, { 'cache-control': 'no-store' })
        : c.text('Not Found', 404);
    }
    const type = CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
    const hashed = file.startsWith(join(base, 'assets') + sep);
    const headers = {
      'content-type': type,
      'cache-control': hashed ? 'public, max-age=31536000, immutable' : 'no-cache',
    };
    const body = await readFile(file);
    if (c.req.method === 'HEAD') {
      return new Response(null, {
        headers: { ...headers, 'content-length': String(body.length) },
      });
    }
    return c.body(new Uint8Array(body), 200, headers);
  };
}
