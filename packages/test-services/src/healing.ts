import { expect } from 'vitest';

/**
 * Calls `call` until it succeeds — a store healing after a fault — within `attempts` tries and
 * `withinMs`, pausing `pauseMs` between tries; every failure on the way must be a connection
 * error of the library (checked by name, so any copy of @sessions/core fits). Returns the
 * attempts it took.
 */
export async function untilItWorks(
  call: () => Promise<unknown>,
  { attempts = 10, withinMs = 15_000, pauseMs = 200 } = {},
): Promise<number> {
  const deadline = Date.now() + withinMs;
  let last: unknown;
  for (let attempt = 1; attempt <= attempts && Date.now() < deadline; attempt++) {
    try {
      await call();
      return attempt;
    } catch (error) {
      last = error;
      expect((error as Error).name, 'every failure while healing is a connection error').toMatch(
        /^Session(Connection|Timeout)Error$/,
      );
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  }
  throw new Error(`the store did not heal within ${attempts} attempts / ${withinMs} ms; last error: ${String(last)}`);
}

/** What a failing call of the library throws, as far as these tests look at it. */
export type CallError = Error & {
  code?: string;
  operation?: string;
  retryable?: boolean;
  mayHaveApplied?: boolean;
  timeoutMs?: number;
};

/** How a call ended — its value or what it threw — and how long it took, in milliseconds. */
export async function timed<T = unknown>(
  call: () => Promise<T>,
): Promise<{ value?: T; error?: CallError; ms: number }> {
  const started = performance.now();
  try {
    const value = await call();
    return { value, ms: performance.now() - started };
  } catch (error) {
    return { error: error as CallError, ms: performance.now() - started };
  }
}
