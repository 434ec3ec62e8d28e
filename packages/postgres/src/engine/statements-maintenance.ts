import type { Tables } from './identifiers.js';

/** The statements of `deleteExpired()`: short, and never waiting on a writer. */
export function maintenanceStatements(t: Tables) {
  return {
    /**
     * Locks up to `$1` expired session rows (skipping rows other writers hold). `now()` (this
     * short transaction's start) is deliberately conservative here: it can only leave a session
     * that expired a moment ago for the next run, never delete one a writer still sees as live.
     */
    lockExpired: `SELECT session_id AS id FROM ${t.sessions}
WHERE expires_at <= now()
ORDER BY expires_at
LIMIT $1::int
FOR UPDATE SKIP LOCKED`,

    /** Deletes the locked expired sessions `$1` (text[] literal) with their items and ids. */
    deleteSessions: `WITH items AS (DELETE FROM ${t.items} WHERE session_id = ANY ($1::text[])),
ops AS (DELETE FROM ${t.operations} WHERE session_id = ANY ($1::text[]))
DELETE FROM ${t.sessions} WHERE session_id = ANY ($1::text[]) AND expires_at <= now()`,

    /**
     * Operation ids older than `$1` seconds, at most `$2` of them. Rows a writer holds are
     * skipped, so this never waits on (or deadlocks with) a transaction.
     */
    deleteOldOperations: `DELETE FROM ${t.operations} WHERE ctid = ANY (ARRAY(
  SELECT ctid FROM ${t.operations}
  WHERE created_at <= now() - make_interval(secs => $1::float8)
  LIMIT $2::int
  FOR UPDATE SKIP LOCKED
))`,
  };
}
