import { defineConfig } from 'vitest/config';

// Unit tests sit next to the code (src/**/*.test.ts) and in test/unit; integration
// tests talk to the real Docker engine and live in test/integration.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'test/unit/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 600_000,
          // the engine has 2 cores here; files run one at a time to keep timings honest
          pool: 'forks',
          poolOptions: { forks: { singleFork: true } },
          globalSetup: ['test/integration/global-setup.ts'],
        },
      },
    ],
  },
});
