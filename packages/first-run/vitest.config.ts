import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['./test/global-setup.ts'],
    // Packing, a cold `npm install` and downloading Node 22/24 happen in hooks; block runs are
    // queued behind one another, so a test may wait for others before its own run starts.
    hookTimeout: 300_000,
    testTimeout: 300_000,
    // Concurrent tests all start at once; the README test's own scheduler bounds the processes.
    maxConcurrency: 1000,
  },
});
