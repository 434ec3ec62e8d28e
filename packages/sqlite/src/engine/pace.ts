/**
 * A local `@libsql/client` call runs synchronously: its promise is already settled when it comes
 * back, so a loop of awaited local calls (`for (…) await session.addItems(…)`) runs in microtasks
 * only and never lets timers, I/O or other requests in. {@link pace} is awaited before every local
 * call: once the calls have kept the event loop for {@link SLICE_MS} without a macrotask turn in
 * between (many small calls, or one call that took long), it yields one turn (`setImmediate`).
 * Node's own `setImmediate`, imported, not the global: a test's fake timers must not stall it.
 */
import { setImmediate } from 'node:timers';

/** How long local calls may run back to back before yielding to the event loop. */
export const SLICE_MS = 10;

/** `performance.now()` when the current run of calls began; -1 once the event loop has turned since. */
let sliceStart = -1;

const endSlice = (): void => {
  sliceStart = -1;
};

/** Resolves at once, or after one turn of the event loop when local calls have kept it too long. */
export function pace(): Promise<void> | undefined {
  const now = performance.now();
  if (sliceStart < 0) {
    // The first call since the loop last turned: note when, and learn when it turns again.
    sliceStart = now;
    setImmediate(endSlice);
    return undefined;
  }
  if (now - sliceStart < SLICE_MS) return undefined;
  // `endSlice` was queued before this, so the next call after the turn starts a fresh slice.
  return new Promise<void>((resolve) => setImmediate(resolve));
}
