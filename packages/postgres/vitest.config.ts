import { defineConfig } from 'vitest/config';

/**
 * postgres.js 3.4.9 can call `socket.write` on a socket it has already nulled, from a
 * `setImmediate`, when a connection dies with a small write buffered (porsager/postgres#1154,
 * #1208; fixes not released). It escapes every `await`, so no library can catch it; the restart
 * test provokes it now and then. Exactly that driver error is tolerated here and nothing else;
 * the README documents it for users.
 */
function isKnownDriverCrash(error: unknown): boolean {
  const { message, stack } = (error ?? {}) as { message?: string; stack?: string };
  return (
    message === "Cannot read properties of null (reading 'write')" &&
    /nextWrite .*postgres[/\\]src[/\\]connection\.js/s.test(stack ?? '')
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
