// ESLint flat config for token.place.
//
// Besides the usual TypeScript and Svelte rules, it enforces the layout contract from
// ARCHITECTURE.md: node/, bootstrap/ and browser/ may import protocol/ but never each
// other, and protocol/ stays platform-neutral (no node:*, Buffer, process or DOM).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import { existsSync, readdirSync } from 'node:fs';

const ROLES = ['node', 'bootstrap', 'browser'];

/** `no-restricted-imports` patterns that keep `role` from reaching into its siblings. */
function siblingBans(role) {
  return ROLES.filter((other) => other !== role).map((other) => ({
    group: [`**/${other}/*`, `**/${other}`],
    message: `${role}/ must not import ${other}/: roles only share code through protocol/.`,
  }));
}

// protocol/ files with a `.browser.ts` twin are the sanctioned place for platform code.
const protocolNodeTwins = readdirSync('protocol')
  .filter((f) => f.endsWith('.browser.ts'))
  .map((f) => `protocol/${f.replace(/\.browser\.ts$/, '.ts')}`)
  .filter((f) => existsSync(f));

const nodeOnlyGlobals = ['Buffer', 'process', 'require', '__dirname', '__filename', 'global'];
const domOnlyGlobals = ['window', 'document', 'localStorage', 'sessionStorage', 'navigator'];

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'dist/',
      'coverage/',
      'bench/results/',
      'tests/artifacts/',
      '.vitest/',
      '.vitest-attachments/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...svelte.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { fixStyle: 'separate-type-imports' },
      ],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      'no-console': 'error',
      eqeqeq: ['error', 'smart'],
    },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: {
      globals: { ...globals.browser },
      parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.svelte'] },
    },
  },
  {
    files: ['protocol/**/*.ts'],
    ignores: ['protocol/**/*.test.ts', ...protocolNodeTwins],
    languageOptions: { globals: {} },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'protocol/ is platform-neutral: no node:* imports.' },
            ...ROLES.map((role) => ({
              group: [`**/${role}/*`, `**/${role}`],
              message: 'protocol/ imports libraries only.',
            })),
            { group: ['**/bin/*'], message: 'protocol/ imports libraries only.' },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        ...[...nodeOnlyGlobals, ...domOnlyGlobals].map((name) => ({
          name,
          message: `protocol/ is platform-neutral: ${name} is not available everywhere.`,
        })),
      ],
    },
  },
  ...ROLES.map((role) => ({
    files: [`${role}/**/*.ts`, `${role}/**/*.svelte`],
    rules: {
      'no-restricted-imports': ['error', { patterns: siblingBans(role) }],
    },
  })),
  {
    files: ['browser/**/*.ts', 'browser/**/*.svelte'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    // Programs, not libraries: these may talk to the terminal.
    files: ['bin/**', 'tests/**', 'bench/**', 'examples/**', 'scripts/**', '*.config.*'],
    rules: { 'no-console': 'off' },
  },
);
