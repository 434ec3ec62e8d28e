import { defineConfig } from 'vitest/config';

/**
 * postgres.js 3.4.9 can call `socket.write` on a socket it has already nulled, from a
 * `setImmediate`, when a connection dies with a small write buffered (porsager/postgres#1154,
 * #1208; fixes not released, 3.4.9 is the latest release). It escapes every `await`, so no
 * library can catch it. This package no longer lets the driver write a ROLLBACK to a dead
 * connection (src/engine/transaction.ts), the path the fault tests hit every time before; the
 * driver's other paths remain. Exactly that driver error is tolerated, and only in the restart
 * test, which kills the server under a workload; the README documents it for users.
 */
function isKnownDriverCrash(error: unknown): boolean {
  const { message, stack, VITEST_TEST_PATH: file } = (error ?? {}) as Record<string, string | undefined>;
  return (
    message === "Cannot read properties of null (reading 'write')" &&
    /nextWrite .*postgres[/\\]src[/\\]connection\.js/s.test(stack ?? '') &&
    /[/\\]restart\.test\.ts$/.test(file ?? '')
  );
}

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['./test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    onUnhandledError(error) {
      if (isKnownDriverCrash(error)) {
        console.warn('[postgres.js known issue #1208] tolerated an uncaught nextWrite TypeError during a restart');
        return false;
      }
    },
  },
});
