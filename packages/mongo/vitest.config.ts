import { defineConfig } from 'vitest/config';

// Two projects: `unit` needs no server (the engine's pure modules, URL parsing, options, the
// credential suite against a closed port); `server` gets FerretDB from the global setup.
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts', 'test/credentials.test.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'server',
          include: ['test/*.test.ts'],
          exclude: ['test/credentials.test.ts'],
          globalSetup: ['./test/global-setup.ts'],
        },
      },
    ],
  },
});
