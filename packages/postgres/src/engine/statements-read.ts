import { liveStartAt } from './fragments.js';
import type { Tables } from './identifiers.js';

/**
 * The read statements: one statement each, so one snapshot, with expiry judged by the current
 * clock in the same statement.
 */
export function readStatements(t: Tables) {
  const liveStart = liveStartAt(t, 'clock_timestamp()');
  return {
    /** The newest `$2` live items, newest first (an index scan backward). `$1` id. */
    readNewest: `SELECT item AS item FROM ${t.items}
WHERE session_id = $1::text AND seq >= (${liveStart})
ORDER BY seq DESC
LIMIT $2::bigint`,

    /** Every live item, oldest first. `$1` id. */
    readAll: `SELECT item AS item FROM ${t.items}
WHERE session_id = $1::text AND seq >= (${liveStart})
ORDER BY seq`,
  };
}
