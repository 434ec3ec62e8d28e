/**
 * The time budget of the public call in progress. Core's deadline rejects the caller once
 * `timeoutMs` have passed; this makes the work behind it stop too: every request the call sends
 * carries the call's `AbortSignal`, aborted as soon as the call settles (answered, failed or
 * timed out), so a request the caller gave up on is cut and its socket freed, also on a client
 * the store did not create; and the engine's retry loops ask {@link budgetExpired} before they
 * try again. The budget follows the call through its awaits (`AsyncLocalStorage`), so concurrent
 * calls of one session never share one. The engine never ends a call itself: core's deadline
 * decides (with its `SessionTimeoutError`), the engine only stops what is left behind.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { setMaxListeners } from 'node:events';

/**
 * Requests one call may have in flight on its signal, each with an abort listener: a catalog page
 * queries its 16 shards at once (Node warns of a leak past 10 by default).
 */
const MAX_REQUESTS_IN_FLIGHT = 64;

const current = new AsyncLocalStorage<AbortSignal>();

/**
 * Runs `call` (core's `run`, which enforces the deadline of `timeoutMs`) with a signal for
 * everything `body` sends; when the call settles, whatever `body` still has in flight is aborted.
 */
export async function withBudget<T>(
  timeoutMs: number,
  call: (body: () => Promise<T>) => Promise<T>,
  body: () => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  setMaxListeners(MAX_REQUESTS_IN_FLIGHT, controller.signal);
  try {
    return await call(() => current.run(controller.signal, body));
  } finally {
    controller.abort(
      Object.assign(new Error(`the call this request belonged to has ended (deadline ${timeoutMs} ms)`), {
        // A `TimeoutError`: core counts it as a connection failure, should anyone see it.
        name: 'TimeoutError',
      }),
    );
  }
}

/** The options every `client.send` gets: the call's abort signal (none outside a call). */
export function requestOptions(): { abortSignal?: AbortSignal } {
  const signal = current.getStore();
  return signal ? { abortSignal: signal } : {};
}

/** The call's abort signal, if a call is in progress. */
export function currentSignal(): AbortSignal | undefined {
  return current.getStore();
}

/** True once the call in progress has settled (its deadline passed, or it ended); never outside a call. */
export function budgetExpired(): boolean {
  return current.getStore()?.aborted === true;
}

/** Throws the abort reason when the call in progress is over: nothing more may be sent for it. */
export function assertBudget(): void {
  const signal = current.getStore();
  if (signal?.aborted) throw signal.reason;
}
