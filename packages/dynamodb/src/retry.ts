/**
 * Error names with which DynamoDB refuses a request without applying it, so that it may be sent
 * again a little later. Ambiguous failures (5xx, timeouts) are not here: the SDK already repeats
 * those with the same client token, and repeating a write as a new request could apply it twice.
 */
export const RETRYABLE_ERRORS = new Set([
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'TransactionConflictException',
  'LimitExceededException',
]);

/** Cancellation reasons of a transaction that was refused for load, not for its conditions. */
export const RETRYABLE_REASONS = new Set([
  'TransactionConflict',
  'ThrottlingError',
  'ProvisionedThroughputExceeded',
  'RequestLimitExceeded',
]);

/** Attempts for throttled or conflicting requests before the error is surfaced. */
export const MAX_THROTTLE_ATTEMPTS = 10;

export function errorName(error: unknown): string {
  const name = (error as { name?: unknown } | null)?.name;
  return typeof name === 'string' ? name : '';
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Exponential backoff with full jitter: a random delay in [0, min(cap, base · 2^attempt)). */
export function backoff(attempt: number, baseMs = 10, capMs = 1_000): number {
  return Math.random() * Math.min(capMs, baseMs * 2 ** Math.min(attempt, 16));
}

/** Runs `tasks` with at most `concurrency` in flight. */
export async function inParallel<T>(items: readonly T[], concurrency: number, task: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await task(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}
