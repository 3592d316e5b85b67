// Svelte compiler options for the web chat (read by vite-plugin-svelte and svelte-check).
// Svelte 5 compiles TypeScript in <script lang="ts"> natively: no preprocessor needed.
/** @type {import('@sveltejs/vite-plugin-svelte').SvelteConfig} */
export default {
  compilerOptions: {
    runes: true,
  },
};
