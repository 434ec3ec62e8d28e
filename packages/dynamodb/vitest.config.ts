import { defineConfig } from 'vitest/config';

/** Tests that need no DynamoDB: `pnpm test:unit` runs them without starting DynamoDB Local. */
const UNIT = [
  'test/engine/**/*.test.ts',
  'test/url.test.ts',
  'test/options.test.ts',
  'test/operations.test.ts',
  'test/credentials.test.ts',
  'test/errors.test.ts',
];

export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: UNIT, testTimeout: 60_000 } },
      {
        test: {
          name: 'dynamodb',
          include: ['test/**/*.test.ts'],
          exclude: UNIT,
          globalSetup: ['./test/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
