/**
 * A local `@libsql/client` call runs synchronously: its promise is already settled when it comes
 * back, so a loop of awaited local calls (`for (…) await session.addItems(…)`) runs in microtasks
 * only and never lets timers, I/O or other requests in. {@link pace} is awaited before every local
 * call: once the calls have kept the event loop for {@link SLICE_MS} without a macrotask turn in
 * between (many small calls, or one call that took long), it yields one turn (`setImmediate`).
 * Node's own `setImmediate` (node:timers, or the global as it was when this module loaded), not
 * the global at call time: a test's fake timers must not stall it. Looked up, not imported, so that
 * bundles of the remote path hold no Node built-in (engine/node-builtins.ts); only local files,
 * i.e. Node, Bun or Deno, ever call it.
 */
import { optionalBuiltin } from './node-builtins.js';

type Schedule = (callback: () => void) => unknown;

/** The global as this module found it, before a test could install fake timers. */
const globalSetImmediate: Schedule | undefined = globalThis.setImmediate;
let schedule: Schedule | undefined;

/** Runs `callback` after one turn of the event loop; looked up on first use (a local file's). */
function afterOneTurn(callback: () => void): void {
  schedule ??=
    optionalBuiltin('timers')?.setImmediate ?? globalSetImmediate ?? ((next: () => void) => setTimeout(next, 0));
  schedule(callback);
}

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
    afterOneTurn(endSlice);
    return undefined;
  }
  if (now - sliceStart < SLICE_MS) return undefined;
  // `endSlice` was queued before this, so the next call after the turn starts a fresh slice.
  return new Promise<void>((resolve) => afterOneTurn(resolve));
}
