// Vitest projects for token.place.
//
// - node:     unit and integration tests that run in Node (most of the suite)
// - chromium: the platform-neutral protocol tests again, in Debian's headless Chromium,
//             proving protocol/ runs unchanged in a browser
// - e2e:      multi-process mesh and browser journeys: one file at a time (2-core CI)
import { defineConfig } from 'vitest/config';
import { playwright } from '@vitest/browser-playwright';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { platformTwins } from './scripts/vite-platform-twins.js';
import { webrtcNoiseCrypto } from './scripts/vite-webrtc-noise.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// Platform-neutral protocol tests and the web app's unit/component tests run in Chromium.
const BROWSER_TESTS = ['tests/protocol/**/*.test.ts', 'tests/web/**/*.test.ts'];
const E2E_TESTS = [
  'tests/mesh/**/*.test.ts',
  'tests/browser/**/*.test.ts',
  'tests/cli/**/*.test.ts',
];

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'node',
          environment: 'node',
          include: ['tests/**/*.test.ts'],
          exclude: [...E2E_TESTS, 'tests/web/**'],
          setupFiles: ['protocol/compat.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        plugins: [platformTwins(), webrtcNoiseCrypto(), svelte()],
        test: {
          name: 'chromium',
          include: BROWSER_TESTS,
          browser: {
            enabled: true,
            headless: true,
            screenshotFailures: false,
            provider: playwright({
              launchOptions: {
                executablePath: CHROMIUM,
                args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
              },
            }),
            instances: [{ browser: 'chromium' }],
          },
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'e2e',
          environment: 'node',
          include: E2E_TESTS,
          setupFiles: ['protocol/compat.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
