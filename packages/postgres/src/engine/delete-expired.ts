import { DEFAULT_OPERATION_RETENTION_SECONDS } from '@sessions/core';
import type { PostgresClient } from '../options.js';
import { textArrayLiteral } from './batches.js';
import type { Queries } from './queries.js';
import { transaction } from './transaction.js';
import { retryIfNeverSent } from './unsent.js';

/**
 * The loops of `store.deleteExpired()`: expired sessions in batches of `batchSize`, each one
 * short transaction that skips rows a writer holds, then operation ids past the retention.
 * `assertOpen` runs between batches, so a closed store (or a call past its deadline) stops
 * early; `bounds` (the store's `SET LOCAL` timeouts) opens each transaction. Returns the
 * sessions deleted.
 */
export async function deleteExpiredRows(
  client: PostgresClient,
  queries: Queries,
  options: { batchSize: number; prepare: boolean; bounds: string; assertOpen: () => void },
): Promise<number> {
  const { batchSize, assertOpen } = options;
  const p = { prepare: options.prepare };
  let sessions = 0;
  for (;;) {
    // Each batch is repeated alone when the driver never sent it, so the count stays exact.
    const deleted = await retryIfNeverSent(() =>
      transaction(client, async (tx) => {
        const [, ids] = await Promise.all([
          tx.unsafe(options.bounds, [], p),
          tx.unsafe<{ id: string }[]>(queries.lockExpired, [batchSize], p),
        ]);
        if (ids.length === 0) return 0;
        const rows = await tx.unsafe(queries.deleteSessions, [textArrayLiteral(ids.map((row) => row.id))], p);
        return rows.count;
      }),
    );
    sessions += deleted;
    if (deleted < batchSize) break;
    assertOpen();
  }
  for (;;) {
    const rows = await retryIfNeverSent(() =>
      client.unsafe(queries.deleteOldOperations, [DEFAULT_OPERATION_RETENTION_SECONDS, batchSize], p),
    );
    if (rows.count < batchSize) break;
    assertOpen();
  }
  return sessions;
}
