/**
 * Raw `@libsql/client` baseline on the same file and the same tables as `@sessions/sqlite` (so it
 * reads the very rows our store wrote): one autocommitted statement per operation.
 * - add: one `INSERT … SELECT` numbering the batch after the session's current `max(seq)`
 *   (atomic on its own; SQLite serialises writers);
 * - getItems: `SELECT … ORDER BY seq` (all) or `ORDER BY seq DESC LIMIT 20` through the primary key;
 * - pop: `DELETE … WHERE seq = (SELECT max(seq) …) RETURNING item`.
 * What it skips is what our store adds: validation, canonical JSON, the per-session row with
 * its sequence counter, expiry checks and the expired-session sweep, `BEGIN IMMEDIATE` batches.
 */
import { createClient } from '@libsql/client';
import type { AgentInputItem } from '@sessions/core';
import { countDriverCalls } from '../roundtrips.ts';
import { ALL_NATIVE, type Subject } from '../subject.ts';

const ITEMS = '"agents_items"';

export async function rawSqlite(url: string): Promise<Subject> {
  const client = createClient({ url, timeout: 5000 });
  const driverCalls = countDriverCalls(client);
  const parse = (rows: unknown[][]) => rows.map((row) => JSON.parse(row[0] as string) as AgentInputItem);
  const append = async (id: string, items: AgentInputItem[]) => {
    const args: (string | number)[] = [id, id];
    for (let k = 0; k < items.length; k++) args.push(k + 1, JSON.stringify(items[k]));
    await client.execute({
      sql: `INSERT INTO ${ITEMS} (session_id, seq, item)
        SELECT ?, coalesce((SELECT max(seq) FROM ${ITEMS} WHERE session_id = ?), 0) + v.column1, v.column2
        FROM (VALUES ${items.map(() => '(?, ?)').join(', ')}) AS v`,
      args,
    });
  };
  return {
    role: 'raw',
    label: 'raw @libsql/client (one statement per call)',
    supports: ALL_NATIVE,
    prepare: (items) => items,
    driverCalls,
    session(id) {
      return {
        add: (batch) => append(id, batch as AgentInputItem[]),
        getAll: async () =>
          parse(
            (await client.execute({ sql: `SELECT item FROM ${ITEMS} WHERE session_id = ? ORDER BY seq`, args: [id] }))
              .rows as unknown as unknown[][],
          ),
        getLast: async (limit) =>
          parse(
            (
              await client.execute({
                sql: `SELECT item FROM ${ITEMS} WHERE session_id = ? ORDER BY seq DESC LIMIT ?`,
                args: [id, limit],
              })
            ).rows as unknown as unknown[][],
          ).reverse(),
        async pop() {
          const result = await client.execute({
            sql: `DELETE FROM ${ITEMS} WHERE session_id = ? AND seq = (SELECT max(seq) FROM ${ITEMS} WHERE session_id = ?) RETURNING item`,
            args: [id, id],
          });
          const row = result.rows[0];
          return row === undefined ? undefined : (JSON.parse(row[0] as string) as AgentInputItem);
        },
        async clear() {
          await client.execute({ sql: `DELETE FROM ${ITEMS} WHERE session_id = ?`, args: [id] });
        },
      };
    },
    async seed(id, items) {
      await client.execute({ sql: `DELETE FROM ${ITEMS} WHERE session_id = ?`, args: [id] });
      for (let i = 0; i < items.length; i += 400) await append(id, items.slice(i, i + 400));
    },
    async close() {
      client.close();
    },
  };
}
