/**
 * One public call's life, beyond core's deadline. Core rejects the caller once `timeoutMs` have
 * passed; this stops the work left behind: every command the call sends carries the call's
 * `AbortSignal` (the driver then gives up waiting for a server, a connection or an answer, and
 * closes a socket it was reading), aborted as soon as the call settles, answered or timed out;
 * the engine's retry loops check it before they try again. The signal follows the call through
 * its awaits (`AsyncLocalStorage`), so concurrent calls of one session never share one. It works
 * on a client the store did not create too, without changing that client's settings.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

const current = new AsyncLocalStorage<AbortSignal>();

/** Why a command of a call that has ended is refused (never seen by the caller: core answered already). */
function ended(): Error {
  return Object.assign(new Error('the call this command belonged to has ended (answered or timed out)'), {
    name: 'MongoSessionsCallEnded',
  });
}

/**
 * Runs `body` through `run` (core's `run`: deadline and error mapping) with a signal of its own;
 * once the call has settled, whatever `body` still has in flight is aborted. `inFlight`, when
 * given, knows about the body until it has stopped, so that a store closes its client only after.
 */
export async function runCall<T>(
  run: (body: () => Promise<T>) => Promise<T>,
  body: () => Promise<T>,
  inFlight?: InFlight,
): Promise<T> {
  const controller = new AbortController();
  try {
    return await run(() => {
      const work = current.run(controller.signal, body);
      inFlight?.add(work);
      return work;
    });
  } finally {
    controller.abort(ended());
  }
}

/**
 * Runs work that several calls may share (the memoised index creation) with a budget of its own
 * rather than the signal of whichever call started it: another call waiting for the same work
 * must not see it cut because the first one ended.
 */
export function runShared<T>(timeoutMs: number, work: () => Promise<T>): Promise<T> {
  return current.run(AbortSignal.timeout(timeoutMs), work);
}

/**
 * The options every driver call gets: the call's signal (none outside a call). The driver
 * honours `signal` on every operation (server selection, connection checkout, the command), but
 * mongodb 7.9 declares it on reads only, hence the type parameter for writes.
 */
export function callOptions<Options extends object = { signal?: AbortSignal }>(): Options {
  const signal = current.getStore();
  return (signal ? { signal } : {}) as Options;
}

/** Throws once the call in progress has ended: nothing more may be sent for it. */
export function assertCallActive(): void {
  const signal = current.getStore();
  if (signal?.aborted) throw signal.reason;
}

/**
 * The calls of a store's sessions that are still running. `close()` waits for them (at most
 * `timeoutMs`: each ends by its own deadline) before it closes the client they use, so that a
 * write in flight is neither cut nor reported as failed after it was stored.
 */
export class InFlight {
  readonly #running = new Set<Promise<unknown>>();

  add(work: Promise<unknown>): void {
    this.#running.add(work);
    const forget = () => this.#running.delete(work);
    work.then(forget, forget);
  }

  get size(): number {
    return this.#running.size;
  }

  /** Resolves once every call running now has stopped, or after `timeoutMs`, whichever comes first. */
  async settled(timeoutMs: number): Promise<void> {
    if (this.#running.size === 0) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const gaveUp = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    try {
      await Promise.race([Promise.allSettled([...this.#running]), gaveUp]);
    } finally {
      clearTimeout(timer);
    }
  }
}
