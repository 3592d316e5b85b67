// Vite config for the token.place web chat.
//
// Build: `npx vite build --config browser/vite.config.ts` → dist/browser/, which the
// bootstrap node serves over HTTP. `platformTwins()` swaps protocol/'s Node-only
// modules (`x.ts`) for their browser twins (`x.browser.ts`); `webrtcNoiseCrypto()` gives
// WebRTC-direct's own Noise handshakes the page's Noise crypto.
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { platformTwins } from '../scripts/vite-platform-twins.js';
import { webrtcNoiseCrypto } from '../scripts/vite-webrtc-noise.js';

const root = fileURLToPath(new URL('.', import.meta.url));

/**
 * `<link rel="modulepreload">` in index.html for every chunk the entry loads at start —
 * the mesh client's (it runs first, see src/main.ts), the UI's and svelte's `mount`, each
 * with the chunks it imports — and the UI's stylesheet: the browser fetches them all
 * alongside the entry instead of one import after another.
 */
function preloadStartChunks(): Plugin {
  return {
    name: 'tokenplace:preload-start-chunks',
    apply: 'build',
    transformIndexHtml: {
      order: 'post',
      handler(html, ctx) {
        const chunks = Object.values(ctx.bundle ?? {}).filter((c) => c.type === 'chunk');
        const files = new Set<string>();
        const css = new Set<string>();
        const add = (fileName: string): void => {
          const chunk = chunks.find((c) => c.fileName === fileName);
          if (chunk == null || files.has(fileName)) return;
          if (!html.includes(fileName)) files.add(fileName);
          for (const file of chunk.viteMetadata?.importedCss ?? []) css.add(file);
          for (const dep of chunk.imports) add(dep);
        };
        for (const entry of ['/lib/mesh/client.ts', '/App.svelte']) {
          const chunk = chunks.find((c) => (c.facadeModuleId ?? '').endsWith(entry));
          if (chunk == null) throw new Error(`vite build: no chunk for browser/src${entry}`);
          add(chunk.fileName);
        }
        // And whatever else the entry imports at start (svelte's `mount`).
        for (const chunk of chunks.filter((c) => c.isEntry)) {
          for (const dep of chunk.dynamicImports) add(dep);
        }
        return [
          ...[...files].map((file) => ({
            tag: 'link',
            attrs: { rel: 'modulepreload', crossorigin: true, href: `./${file}` },
            injectTo: 'head' as const,
          })),
          ...[...css].map((file) => ({
            tag: 'link',
            attrs: { rel: 'stylesheet', crossorigin: true, href: `./${file}` },
            injectTo: 'head' as const,
          })),
        ];
      },
    },
  };
}

export default defineConfig({
  root,
  // Relative asset URLs: the app works wherever the bootstrap mounts it.
  base: './',
  plugins: [platformTwins(), webrtcNoiseCrypto(), svelte(), preloadStartChunks()],
  build: {
    outDir: '../dist/browser',
    emptyOutDir: true,
    target: 'es2022',
    // The mesh client is its own chunk (libp2p with WebSockets, WebRTC, circuit relay,
    // Noise, yamux, plus HPKE and zod: ~600 kB minified, ~175 kB gzip), loaded while
    // the page paints; the UI chunk is ~170 kB.
    chunkSizeWarningLimit: 700,
    // index.html preloads the chunks the entry imports (the plugin above); Vite's own
    // helper would add the same links again at run time, on the busy main thread.
    modulePreload: { resolveDependencies: () => [] },
    rolldownOptions: {
      onLog(level, log, handler) {
        // @hpke/common falls back to `import("crypto")` where there is no WebCrypto (Node
        // 18 and older); a browser always has it, so Vite's empty stand-in for `crypto`
        // is never reached and its warning on every build says nothing.
        if (
          /Module "crypto" has been externalized/.test(log.message) &&
          /@hpke[\\/]common/.test(log.message)
        ) {
          return;
        }
        handler(level, log);
      },
    },
  },
});
