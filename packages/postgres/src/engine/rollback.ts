/**
 * `sql.begin(callback)` commits when the callback resolves and rolls back when it throws, so a
 * decision that must leave nothing behind (nothing to pop, a refused transaction) is thrown as
 * an {@link Outcome} and turned back into a value by {@link unlessOutcome}.
 */
export class Outcome<T> extends Error {
  constructor(readonly value: T) {
    super('rolled back on purpose');
  }
}

/** The value of a rolled-back {@link Outcome}; any other error is rethrown. */
export function unlessOutcome<T>(error: unknown): T {
  if (error instanceof Outcome) return error.value as T;
  throw error;
}
