/**
 * Raw `postgres` (postgres.js) baseline on the tables `@sessions/postgres` created (so it reads the
 * very rows our store wrote), one statement per operation, prepared like ours:
 * - add: one statement that reserves the batch's sequence range on the session row
 *   (`INSERT … ON CONFLICT DO UPDATE … RETURNING`, which is what keeps concurrent writers
 *   contiguous) and inserts the batch from one `text[]` parameter;
 * - getItems: `SELECT … ORDER BY seq` (all) or `ORDER BY seq DESC LIMIT 20` on the primary key;
 * - pop: one `DELETE … WHERE seq = (SELECT max(seq) …) RETURNING item`.
 * What it skips is what our store adds: validation, canonical JSON, expiry (`start_seq`, TTL
 * columns, the live-session check on reads), the row lock and transaction around a pop.
 */
import type { AgentInputItem } from '@sessions/core';
import postgres from 'postgres';
import { ALL_NATIVE, type Subject, type SubjectSession } from '../subject.ts';

const SESSIONS = '"public"."agent_sessions"';
const ITEMS = '"public"."agent_items"';

const APPEND = `WITH up AS (
  INSERT INTO ${SESSIONS} AS s (session_id, next_seq) VALUES ($1::text, cardinality($2::text[]))
  ON CONFLICT (session_id) DO UPDATE SET next_seq = s.next_seq + excluded.next_seq
  RETURNING s.next_seq
)
INSERT INTO ${ITEMS} (session_id, seq, item)
SELECT $1::text, up.next_seq - cardinality($2::text[]) + b.ord - 1, b.item
FROM up, unnest($2::text[]) WITH ORDINALITY AS b(item, ord)`;
const READ_ALL = `SELECT item FROM ${ITEMS} WHERE session_id = $1::text ORDER BY seq`;
const READ_NEWEST = `SELECT item FROM ${ITEMS} WHERE session_id = $1::text ORDER BY seq DESC LIMIT $2::bigint`;
const POP = `DELETE FROM ${ITEMS} WHERE session_id = $1::text
  AND seq = (SELECT max(seq) FROM ${ITEMS} WHERE session_id = $1::text) RETURNING item`;

/** Named prepared statements, as our store uses by default (one round trip per call). */
const PREPARED = { prepare: true };

export async function rawPostgres(url: string): Promise<Subject> {
  const sql = postgres(url, { onnotice: () => {} });
  const parse = (rows: readonly { item: string }[]) => rows.map((row) => JSON.parse(row.item) as AgentInputItem);
  const append = (id: string, items: AgentInputItem[]) =>
    sql.unsafe(APPEND, [id, items.map((item) => JSON.stringify(item))], PREPARED);
  const session = (id: string): SubjectSession => ({
    add: async (batch) => {
      await append(id, batch as AgentInputItem[]);
    },
    getAll: async () => parse(await sql.unsafe<{ item: string }[]>(READ_ALL, [id], PREPARED)),
    getLast: async (limit) => parse(await sql.unsafe<{ item: string }[]>(READ_NEWEST, [id, limit], PREPARED)).reverse(),
    async pop() {
      const [row] = await sql.unsafe<{ item: string }[]>(POP, [id], PREPARED);
      return row === undefined ? undefined : (JSON.parse(row.item) as AgentInputItem);
    },
    async clear() {
      await sql.begin((tx) => [
        tx.unsafe(`DELETE FROM ${ITEMS} WHERE session_id = $1::text`, [id]),
        tx.unsafe(`DELETE FROM ${SESSIONS} WHERE session_id = $1::text`, [id]),
      ]);
    },
  });
  return {
    role: 'raw',
    label: 'raw postgres.js (one statement per call)',
    supports: ALL_NATIVE,
    prepare: (items) => items,
    session,
    async seed(id, items) {
      await session(id).clear();
      for (let i = 0; i < items.length; i += 1000) await append(id, items.slice(i, i + 1000));
    },
    async close() {
      await sql.end({ timeout: 5 });
    },
  };
}
