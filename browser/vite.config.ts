// Vite config for the token.place web chat.
//
// Build: `npx vite build --config browser/vite.config.ts` → dist/browser/, which the
// bootstrap node serves over HTTP. `platformTwins()` swaps protocol/'s Node-only
// modules (`x.ts`) for their browser twins (`x.browser.ts`).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { platformTwins } from '../scripts/vite-platform-twins.js';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  // Relative asset URLs: the app works wherever the bootstrap mounts it.
  base: './',
  plugins: [platformTwins(), svelte()],
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
