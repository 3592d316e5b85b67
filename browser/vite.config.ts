// Vite config for the token.place web chat.
//
// Build: `npx vite build --config browser/vite.config.ts` → dist/browser/, which the
// bootstrap node serves over HTTP. `platformTwins()` swaps protocol/'s Node-only
// modules (`x.ts`) for their browser twins (`x.browser.ts`).
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { platformTwins } from '../scripts/vite-platform-twins.js';

const root = fileURLToPath(new URL('.', import.meta.url));

/**
 * `<link rel="modulepreload">` for the mesh client's chunk in index.html: the page needs
 * it at once, and this way the browser fetches and compiles it alongside the UI chunk
 * instead of after it (the dynamic import then finds it ready). The page still paints
 * without waiting for it.
 */
function preloadMeshClientChunk(): Plugin {
  return {
    name: 'tokenplace:preload-mesh-client',
    apply: 'build',
    transformIndexHtml: {
      order: 'post',
      handler(_html, ctx) {
        const chunk = Object.values(ctx.bundle ?? {}).find(
          (c) => c.type === 'chunk' && (c.facadeModuleId ?? '').endsWith('/lib/mesh/client.ts'),
        );
        if (chunk == null)
          throw new Error('vite build: no chunk for browser/src/lib/mesh/client.ts');
        return [
          {
            tag: 'link',
            attrs: { rel: 'modulepreload', crossorigin: true, href: `./${chunk.fileName}` },
            injectTo: 'head',
          },
        ];
      },
    },
  };
}

export default defineConfig({
  root,
  // Relative asset URLs: the app works wherever the bootstrap mounts it.
  base: './',
  plugins: [platformTwins(), svelte(), preloadMeshClientChunk()],
  build: {
    outDir: '../dist/browser',
    emptyOutDir: true,
    target: 'es2022',
    // The mesh client is its own chunk (libp2p with WebSockets, WebRTC, circuit relay,
    // Noise, yamux, plus HPKE and zod: ~600 kB minified, ~175 kB gzip), loaded while
    // the page paints; the UI chunk is ~170 kB.
    chunkSizeWarningLimit: 700,
  },
});
