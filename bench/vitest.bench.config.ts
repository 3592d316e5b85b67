// `npm run bench`: benchmarks as Vitest projects, one runtime at a time (the machine has
// two cores; parallel projects would measure each other). Each bench file records its
// figures; the global teardown prints one table and writes bench/results/latest.json.
import { defineConfig } from 'vitest/config';
import { playwright } from '@vitest/browser-playwright';
import { platformTwins } from '../scripts/vite-platform-twins.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export default defineConfig({
  test: {
    globalSetup: ['bench/report.ts'],
    fileParallelism: false,
    maxWorkers: 1,
    testTimeout: 600_000,
    hookTimeout: 300_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'bench-node',
          environment: 'node',
          include: ['bench/**/*.bench.test.ts'],
          exclude: ['bench/**/*.chromium-only.bench.test.ts'],
          setupFiles: ['protocol/compat.ts'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        plugins: [platformTwins()],
        // COOP/COEP make the page cross-origin isolated: performance.now() then has 5 µs
        // resolution instead of 100 µs.
        server: {
          headers: {
            'Cross-Origin-Opener-Policy': 'same-origin',
            'Cross-Origin-Embedder-Policy': 'require-corp',
          },
        },
        test: {
          name: 'bench-chromium',
          include: ['bench/hpke.bench.test.ts'],
          sequence: { groupOrder: 1 },
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
        },
      },
    ],
  },
});
