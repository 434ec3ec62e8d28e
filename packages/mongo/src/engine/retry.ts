/** Returned by an attempt that lost: another writer committed first (or the read saw a moving history). */
export const LOST = Symbol('lost');
export type Attempt<T> = T | typeof LOST;

/** A write loses the race for the next `rev` at most this often before giving up. */
export const MAX_WRITE_ATTEMPTS = 1000;
/** A read that keeps finding its chain cut by concurrent cleanups gives up after this many tries. */
export const MAX_READ_ATTEMPTS = 30;
export const MAX_BACKOFF_MS = 100;

export interface RetryOptions {
  /** Attempts before giving up (default `MAX_WRITE_ATTEMPTS`). */
  maxAttempts?: number;
  /** The error thrown when every attempt lost. */
  giveUp?: (attempts: number) => Error;
  /** Runs before every attempt: a closed store stops retrying (it throws). */
  beforeAttempt?: () => void;
  /** Test seams. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

/**
 * The one optimistic loop of every write (and of chain reads): run `attempt` until it returns
 * something other than `LOST`, waiting a random moment between tries (full jitter, growing to
 * `MAX_BACKOFF_MS`) so that writers who collided do not collide again.
 */
export async function retryUntilSettled<T>(
  attempt: (index: number) => Promise<Attempt<T>>,
  options: RetryOptions = {},
): Promise<T> {
  const maxAttempts = options.maxAttempts ?? MAX_WRITE_ATTEMPTS;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = options.random ?? Math.random;
  for (let index = 0; ; index++) {
    options.beforeAttempt?.();
    const result = await attempt(index);
    if (result !== LOST) return result;
    if (index + 1 >= maxAttempts) {
      throw (
        options.giveUp?.(maxAttempts) ??
        new Error(`gave up after ${maxAttempts} attempts: other writers kept committing first`)
      );
    }
    await sleep(random() * backoffCap(index));
  }
}

/** The jitter window after the `index`-th lost attempt: 1, 2, 4 … ms, at most `MAX_BACKOFF_MS`. */
export function backoffCap(index: number): number {
  return Math.min(MAX_BACKOFF_MS, 2 ** Math.min(index, 10));
}
