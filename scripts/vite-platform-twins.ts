/**
 * Vite plugin for browser builds: where a module `x.ts` has a sibling `x.browser.ts`,
 * import the browser twin instead. This is how protocol/ keeps its few platform-specific
 * modules (compat, aead) out of the browser bundle while Node imports `x.ts` directly.
 */
import { existsSync } from 'node:fs';
import type { Plugin } from 'vite';

export function platformTwins(): Plugin {
  return {
    name: 'tokenplace:platform-twins',
    enforce: 'pre',
    async resolveId(source, importer, options) {
      if (importer == null || !source.startsWith('.')) return null;
      const resolved = await this.resolve(source, importer, { ...options, skipSelf: true });
      if (resolved == null || resolved.external) return null;
      const id = resolved.id.split('?')[0]!;
      if (!id.endsWith('.ts') || id.endsWith('.browser.ts')) return null;
      const twin = id.replace(/\.ts$/, '.browser.ts');
      return existsSync(twin) ? twin : null;
    },
  };
}
