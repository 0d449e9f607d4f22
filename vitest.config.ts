import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          // The property tests run hundreds of random cases; on a loaded 2-core machine that
          // can pass 5 s, which is no failure of theirs (speed lives in the benchmark).
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/support/engine-setup.ts'],
          // Every integration file shares one throwaway engine and some policies look at
          // everything on it, so files run one after another, never side by side.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
