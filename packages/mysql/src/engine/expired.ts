import { DEFAULT_OPERATION_RETENTION_SECONDS } from '@sessions/core';
import type { MySQLClient } from '../options.js';
import { NOW_MS } from './clock.js';
import { transaction, withConnection } from './connection.js';
import type { Tables } from './identifiers.js';

/**
 * `deleteExpired()`: batches of at most `batchSize` expired sessions, each one short transaction
 * at READ COMMITTED that locks them with `SKIP LOCKED` (never waiting on a writer) and deletes
 * their items, operation ids and rows; then operation ids past the retention, in batches.
 * `assertOpen` runs between batches. Returns the sessions deleted.
 */
export async function deleteExpiredRows(
  pool: MySQLClient,
  t: Tables,
  options: { batchSize: number; timeoutMs: number; assertOpen: () => void },
): Promise<number> {
  const { batchSize, timeoutMs, assertOpen } = options;
  let sessions = 0;
  for (;;) {
    const deleted = await transaction(pool, { timeoutMs, readCommitted: true }, async (run) => {
      const rows = await run.rows<{ id: Buffer }>(
        `SELECT session_id AS id FROM ${t.sessions} WHERE expires_at <= ${NOW_MS}
ORDER BY expires_at LIMIT ? FOR UPDATE SKIP LOCKED`,
        [String(batchSize)],
      );
      for (const { id } of rows) {
        await run.write(`DELETE FROM ${t.items} WHERE session_id = ?`, [id]);
        await run.write(`DELETE FROM ${t.operations} WHERE session_id = ?`, [id]);
        await run.write(`DELETE FROM ${t.sessions} WHERE session_id = ? AND expires_at <= ${NOW_MS}`, [id]);
      }
      return rows.length;
    });
    sessions += deleted;
    if (deleted < batchSize) break;
    assertOpen();
  }
  for (;;) {
    const header = await withConnection(pool, timeoutMs, (run) =>
      run.write(`DELETE FROM ${t.operations} WHERE created_at <= ${NOW_MS} - CAST(? AS SIGNED) LIMIT ${batchSize}`, [
        DEFAULT_OPERATION_RETENTION_SECONDS * 1000,
      ]),
    );
    if (header.affectedRows < batchSize) break;
    assertOpen();
  }
  return sessions;
}
