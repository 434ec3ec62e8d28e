import { budgetExpired } from './deadline.js';

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

/** Runs `task` for every item, with at most `concurrency` in flight. */
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

/**
 * Sends one request: again with backoff while DynamoDB throttles or reports a conflicting
 * transaction, and once more after `createTable` when the table is missing (when given: the
 * store's `createIfMissing` option is on). Anything else is thrown as it came, and so is a
 * throttling error once the call's deadline has passed (`expired`): no retry outlives the call.
 */
export async function sendWithRetries<T>(
  send: () => Promise<T>,
  createTable: (() => Promise<void>) | undefined,
  pause: (ms: number) => Promise<void> = sleep,
  expired: () => boolean = budgetExpired,
): Promise<T> {
  let created = false;
  for (let attempt = 0; ; attempt++) {
    try {
      return await send();
    } catch (error) {
      const name = errorName(error);
      if (name === 'ResourceNotFoundException' && createTable && !created) {
        created = true;
        await createTable();
        continue;
      }
      if (RETRYABLE_ERRORS.has(name) && attempt + 1 < MAX_THROTTLE_ATTEMPTS && !expired()) {
        await pause(backoff(attempt, 20, 1000));
        continue;
      }
      throw error;
    }
  }
}
